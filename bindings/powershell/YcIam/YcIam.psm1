#Requires -Version 5.1
# YcIam: Yandex Cloud IAM tokens for PowerShell, over the yciam native library (its C ABI,
# include/yciam.h). Works on Windows PowerShell 5.1 and PowerShell 7 on Windows, Linux, macOS.
#
# The public cmdlets are the Verb-Noun functions (every one is listed in YcIam.psd1);
# helpers have names without a hyphen and stay private.

Set-StrictMode -Version 3.0

# --- The native library ----------------------------------------------------------------------

# Bound to one library file by absolute path: DllImport takes a full path on .NET Framework
# and .NET alike, so no search path, pre-loading or resolver is involved. Strings go in as
# NUL-terminated UTF-8 bytes and come back as pointers that are decoded as UTF-8 here and
# freed by the library. C# 5, so that Windows PowerShell 5.1 compiles it too.
$script:NativeSource = @'
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace YcIam
{
    /// <summary>A failure of the yciam library, or an HTTP error answer of the API.</summary>
    public class YcIamException : Exception
    {
        public YcIamException(string message, uint status, string statusName, int statusCode,
            string requestId, string responseBody)
            : base(message)
        {
            Status = status;
            StatusName = statusName;
            StatusCode = statusCode;
            RequestId = requestId;
            ResponseBody = responseBody;
        }

        /// <summary>The yciam_status value: 1 INVALID_ARGUMENT ... 7 HTTP_ERROR ... 10 PANIC.</summary>
        public uint Status { get; private set; }
        /// <summary>Its name without the YCIAM_STATUS_ prefix, e.g. CREDENTIAL_REJECTED.</summary>
        public string StatusName { get; private set; }
        /// <summary>The HTTP status of the failed call; 0 when there was no HTTP answer.</summary>
        public int StatusCode { get; private set; }
        /// <summary>The request id the API gave (support asks for it), or null.</summary>
        public string RequestId { get; private set; }
        /// <summary>The body of an HTTP error answer, or null.</summary>
        public string ResponseBody { get; private set; }
    }

    /// <summary>The yciam C ABI, and the UTF-8 and ownership rules around it.</summary>
    public static class Native
    {
        public const string LibraryPath = @"@@LIBRARY_PATH@@";
        private const uint Ok = 0;

        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern IntPtr yciam_version();
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern IntPtr yciam_status_name(uint status);
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern uint yciam_client_new(byte[] optionsJson, out IntPtr client);
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern void yciam_client_free(IntPtr client);
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern uint yciam_client_token(IntPtr client, out IntPtr token, out long expiresAt);
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern uint yciam_client_request(IntPtr client, byte[] method, byte[] url,
            byte[] headers, byte[] body, UIntPtr bodyLen,
            out ushort httpStatus, out IntPtr responseBody, out UIntPtr responseBodyLen);
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern uint yciam_client_revoke(IntPtr client, byte[] iamToken, out IntPtr subjectId);
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern void yciam_string_free(IntPtr s);
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern IntPtr yciam_last_error_message();
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern IntPtr yciam_last_error_request_id();
        [DllImport(LibraryPath, CallingConvention = CallingConvention.Cdecl)]
        private static extern ushort yciam_last_error_http_status();

        /// <summary>NUL-terminated UTF-8, as the library reads strings. Null or "" is NULL.</summary>
        private static byte[] Utf8z(string s)
        {
            if (string.IsNullOrEmpty(s)) return null;
            byte[] text = Encoding.UTF8.GetBytes(s);
            byte[] z = new byte[text.Length + 1];
            Buffer.BlockCopy(text, 0, z, 0, text.Length);
            return z;
        }

        /// <summary>UTF-8 at p: length bytes, or up to the NUL when length is -1.
        /// (Marshal.PtrToStringUTF8 is missing from .NET Framework.)</summary>
        private static string Decode(IntPtr p, long length)
        {
            if (p == IntPtr.Zero) return null;
            if (length < 0)
            {
                length = 0;
                while (Marshal.ReadByte(p, checked((int)length)) != 0) length++;
            }
            byte[] bytes = new byte[checked((int)length)];
            Marshal.Copy(p, bytes, 0, bytes.Length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Decodes a string the library handed over, then gives it back to the library.</summary>
        private static string Take(IntPtr p, long length)
        {
            if (p == IntPtr.Zero) return null;
            try
            {
                return Decode(p, length);
            }
            finally
            {
                yciam_string_free(p);
            }
        }

        /// <summary>The exception for a failed call, made at once on the failing thread
        /// (the library keeps the last error per thread).</summary>
        private static YcIamException Failure(uint status)
        {
            string message = Take(yciam_last_error_message(), -1);
            string requestId = Take(yciam_last_error_request_id(), -1);
            int httpStatus = yciam_last_error_http_status();
            string name = StatusName(status);
            if (string.IsNullOrEmpty(message)) message = "yciam failed: " + name;
            return new YcIamException(message, status, name, httpStatus, requestId, null);
        }

        /// <summary>The library's version, e.g. 0.1.0.</summary>
        public static string Version()
        {
            return Decode(yciam_version(), -1);
        }

        /// <summary>A status's name without the YCIAM_STATUS_ prefix.</summary>
        public static string StatusName(uint status)
        {
            string name = Decode(yciam_status_name(status), -1);
            if (string.IsNullOrEmpty(name)) return "STATUS_" + status;
            return name.StartsWith("YCIAM_STATUS_", StringComparison.Ordinal) ? name.Substring(13) : name;
        }

        /// <summary>A client for the options JSON; free it with FreeClient.</summary>
        public static IntPtr NewClient(string optionsJson)
        {
            IntPtr client;
            uint status = yciam_client_new(Utf8z(optionsJson), out client);
            if (status != Ok) throw Failure(status);
            return client;
        }

        public static void FreeClient(IntPtr client)
        {
            yciam_client_free(client);
        }

        /// <summary>An IAM token (cached by the client); expiresAt in Unix seconds, 0 when unknown.</summary>
        public static string Token(IntPtr client, out long expiresAt)
        {
            IntPtr token;
            uint status = yciam_client_token(client, out token, out expiresAt);
            if (status != Ok) throw Failure(status);
            return Take(token, -1);
        }

        /// <summary>An authorized request. Every HTTP answer is a success here: the caller
        /// judges httpStatus. headers: null or "Name: value\n" lines.</summary>
        public static string Request(IntPtr client, string method, string url, string headers,
            byte[] body, out int httpStatus)
        {
            ushort answered;
            IntPtr responseBody;
            UIntPtr responseLength;
            UIntPtr bodyLength = new UIntPtr(body == null ? 0u : (uint)body.Length);
            uint status = yciam_client_request(client, Utf8z(method), Utf8z(url), Utf8z(headers),
                body, bodyLength, out answered, out responseBody, out responseLength);
            if (status != Ok) throw Failure(status);
            httpStatus = answered;
            return Take(responseBody, (long)responseLength.ToUInt64()) ?? "";
        }

        /// <summary>Revokes an IAM token; returns the subject id it belonged to.</summary>
        public static string Revoke(IntPtr client, string iamToken)
        {
            IntPtr subjectId;
            uint status = yciam_client_revoke(client, Utf8z(iamToken), out subjectId);
            if (status != Ok) throw Failure(status);
            return Take(subjectId, -1);
        }
    }
}
'@

function ResolveRuntimeId {
    # The process's own architecture decides which library can be loaded into it.
    if ([Environment]::OSVersion.Platform -eq [PlatformID]::Win32NT) {
        switch ($env:PROCESSOR_ARCHITECTURE) {
            'AMD64' { return 'win-x64' }
            'ARM64' { return 'win-arm64' }
        }
        throw "YcIam needs a 64-bit PowerShell (x64 or ARM64); this one is $env:PROCESSOR_ARCHITECTURE."
    }
    # Outside Windows this is PowerShell 7 on .NET, which has RuntimeInformation.
    $info = [System.Runtime.InteropServices.RuntimeInformation]
    $os = if ($info::IsOSPlatform([System.Runtime.InteropServices.OSPlatform]::OSX)) { 'osx' } else { 'linux' }
    $arch = switch ($info::ProcessArchitecture.ToString()) {
        'X64' { 'x64' }
        'Arm64' { 'arm64' }
        default { throw "YcIam has no native library for $os on $_." }
    }
    "$os-$arch"
}

function ResolveLibraryPath {
    # $env:YCIAM_LIBRARY, else runtimes/<rid>/native/<file> inside this module's folder.
    if ($env:YCIAM_LIBRARY) {
        if (-not [IO.Path]::IsPathRooted($env:YCIAM_LIBRARY)) {
            throw "YCIAM_LIBRARY must be an absolute path, not '$env:YCIAM_LIBRARY'."
        }
        $path = $env:YCIAM_LIBRARY
    }
    else {
        $rid = ResolveRuntimeId
        $file = switch -Wildcard ($rid) {
            'win-*' { 'yciam.dll' }
            'osx-*' { 'libyciam.dylib' }
            default { 'libyciam.so' }
        }
        $path = [IO.Path]::Combine($PSScriptRoot, 'runtimes', $rid, 'native', $file)
    }
    if (-not [IO.File]::Exists($path)) {
        throw "The yciam native library is not at '$path'. Install the YcIam package made for this platform, or set YCIAM_LIBRARY to the library's absolute path."
    }
    [IO.Path]::GetFullPath($path)
}

$script:LibraryPath = ResolveLibraryPath
$loadedNative = 'YcIam.Native' -as [type]
if ($null -eq $loadedNative) {
    $source = $script:NativeSource.Replace('@@LIBRARY_PATH@@', $script:LibraryPath.Replace('"', '""'))
    Add-Type -TypeDefinition $source -Language CSharp
}
elseif ($loadedNative::LibraryPath -ne $script:LibraryPath) {
    # A .NET type cannot be unloaded: one library per session.
    throw "This session already uses the yciam library at '$($loadedNative::LibraryPath)'; start a new session to use '$($script:LibraryPath)'."
}
try {
    # The first call loads the library: fail the import, not the first cmdlet, if it cannot be.
    $script:LibraryVersion = [YcIam.Native]::Version()
}
catch {
    $cause = $_.Exception
    while ($null -ne $cause.InnerException) { $cause = $cause.InnerException }
    throw "Cannot load the yciam library '$($script:LibraryPath)': $($cause.Message)"
}

# One native client per distinct set of options, for the whole session, so that tokens are
# cached and renewed by the library instead of fetched on every call. Keyed by a hash of the
# options JSON, which may hold a secret.
$script:Clients = @{}

$ExecutionContext.SessionState.Module.OnRemove = {
    foreach ($client in @($script:Clients.Values)) {
        [YcIam.Native]::FreeClient($client)
    }
    $script:Clients.Clear()
}

# --- Helpers ---------------------------------------------------------------------------------

function ConvertToPlainText {
    # A SecureString's or String's text, for the native call.
    param($Value)
    if ($Value -is [securestring]) {
        $bstr = [Runtime.InteropServices.Marshal]::SecureStringToBSTR($Value)
        try {
            return [Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr)
        }
        finally {
            [Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr)
        }
    }
    [string]$Value
}

function FirstValue {
    # The bound parameter's value if given, else the fallback (an environment variable).
    param($Bound, [string]$Name, $Fallback)
    if ($Bound.ContainsKey($Name) -and $Bound[$Name]) { return $Bound[$Name] }
    if ($Fallback) { return $Fallback }
    $null
}

function NewClientOptions {
    # The options JSON for yciam_client_new from a cmdlet's bound parameters.
    param(
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Bound,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet
    )
    $options = [ordered]@{}
    if ($Bound.ContainsKey('IamToken')) { $options.iam_token = ConvertToPlainText $Bound['IamToken'] }
    if ($Bound.ContainsKey('OAuthToken')) { $options.oauth_token = ConvertToPlainText $Bound['OAuthToken'] }
    if ($Bound.ContainsKey('ServiceAccountKeyFile')) {
        # Relative to PowerShell's location, which is not the process's current directory.
        $options.sa_key_file = $Cmdlet.GetUnresolvedProviderPathFromPSPath($Bound['ServiceAccountKeyFile'])
    }
    if ($Bound.ContainsKey('Metadata') -and $Bound['Metadata']) { $options.metadata = $true }
    if ($Bound.ContainsKey('Profile')) { $options.profile = [string]$Bound['Profile'] }

    if ($Bound.ContainsKey('Endpoint') -and $Bound['Endpoint']) { $options.endpoint = [string]$Bound['Endpoint'] }
    if ($Bound.ContainsKey('IamEndpoint') -and $Bound['IamEndpoint']) { $options.iam_endpoint = [string]$Bound['IamEndpoint'] }
    if ($Bound.ContainsKey('ResourceManagerEndpoint') -and $Bound['ResourceManagerEndpoint']) {
        $options.resource_manager_endpoint = [string]$Bound['ResourceManagerEndpoint']
    }
    if ($Bound.ContainsKey('CaFile') -and $Bound['CaFile']) {
        $options.ca_file = $Cmdlet.GetUnresolvedProviderPathFromPSPath($Bound['CaFile'])
    }
    if ($Bound.ContainsKey('TimeoutSec')) { $options.timeout_seconds = [double]$Bound['TimeoutSec'] }
    if ($Bound.ContainsKey('NoCache') -and $Bound['NoCache']) { $options.no_cache = $true }

    # PowerShell 7 on Linux and macOS does not pass $env: changes made in the session on to
    # native code, so the variables the library reads (settings and the default credential
    # chain) go along explicitly; the library looks there before its own environment.
    $vars = [ordered]@{}
    foreach ($item in Get-ChildItem -Path Env: | Sort-Object -Property Name) {
        if ($item.Name -like 'YC_*' -or $item.Name -like 'YCIAM_*' -or $item.Name -eq 'HOME' -or $item.Name -eq 'PATH') {
            $vars[$item.Name] = [string]$item.Value
        }
    }
    if ($vars.Count -gt 0) { $options.env = $vars }
    ConvertTo-Json -InputObject $options -Compress
}

function GetClient {
    # The session's client for these options, made on first use.
    param([Parameter(Mandatory)] [string] $OptionsJson)
    $sha = [Security.Cryptography.SHA256]::Create()
    try {
        $key = [BitConverter]::ToString($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes($OptionsJson)))
    }
    finally {
        $sha.Dispose()
    }
    $client = $script:Clients[$key]
    if ($null -eq $client) {
        $client = [YcIam.Native]::NewClient($OptionsJson)
        $script:Clients[$key] = $client
    }
    $client
}

function GetErrorCategory {
    # The ErrorCategory for a yciam status (fixed values, include/yciam.h) or an HTTP status.
    param([uint32] $Status, [int] $StatusCode)
    $c = [System.Management.Automation.ErrorCategory]
    if ($Status -eq 7 -or ($Status -eq 0 -and $StatusCode -ge 400)) {
        switch ($StatusCode) {
            400 { return $c::InvalidArgument }
            401 { return $c::AuthenticationError }
            403 { return $c::PermissionDenied }
            404 { return $c::ObjectNotFound }
            409 { return $c::ResourceExists }
            429 { return $c::LimitsExceeded }
        }
        if ($StatusCode -ge 500) { return $c::ResourceUnavailable }
        return $c::InvalidOperation
    }
    switch ($Status) {
        1 { return $c::InvalidArgument }                       # INVALID_ARGUMENT
        2 { return $c::AuthenticationError }                   # NO_CREDENTIAL
        3 {                                                    # CREDENTIAL_REJECTED
            if ($StatusCode -eq 403) { return $c::PermissionDenied }
            return $c::AuthenticationError
        }
        4 { return $c::ConnectionError }                       # NETWORK
        5 { return $c::OperationTimeout }                      # TIMEOUT
        6 { return $c::ResourceUnavailable }                   # SERVER
        8 { return $c::InvalidResult }                         # BAD_RESPONSE
        9 { return $c::ReadError }                             # IO
    }
    $c::NotSpecified                                           # PANIC and anything new
}

function ThrowYcError {
    # Rethrows a failure as the calling cmdlet's terminating error: a YcIamException (also
    # when wrapped by a .NET method call) keeps its message, and gets an ErrorCategory and an
    # error id from its status; anything else goes through unchanged.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] $Failure,
        $Target
    )
    $record = if ($Failure -is [System.Management.Automation.ErrorRecord]) { $Failure } else { $null }
    $exception = if ($record) { $record.Exception } else { $Failure }
    $ycError = $exception
    while ($null -ne $ycError -and $ycError -isnot [YcIam.YcIamException]) {
        $ycError = $ycError.InnerException
    }
    if ($null -eq $ycError) {
        if ($null -eq $record) {
            $record = [System.Management.Automation.ErrorRecord]::new($exception, 'YcIam.Failed',
                [System.Management.Automation.ErrorCategory]::NotSpecified, $Target)
        }
        $Cmdlet.ThrowTerminatingError($record)
    }
    $category = GetErrorCategory -Status $ycError.Status -StatusCode $ycError.StatusCode
    $Cmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
            $ycError, "YcIam.$($ycError.StatusName)", $category, $Target))
}

function NewHttpError {
    # A YcIamException for an HTTP error answer: the google.rpc.Status message and request id,
    # or, for a body that is not one (an HTML page from a proxy), a short excerpt of it.
    param([string] $Method, [string] $Url, [int] $StatusCode, [string] $Body)
    $message = $null
    $requestId = $null
    try {
        $status = ConvertFrom-Json -InputObject $Body -ErrorAction Stop
        if ($status -is [System.Management.Automation.PSCustomObject]) {
            if ($status.PSObject.Properties['message']) { $message = [string]$status.message }
            if ($status.PSObject.Properties['details']) {
                foreach ($detail in @($status.details)) {
                    if ($detail -is [System.Management.Automation.PSCustomObject] -and
                        $detail.PSObject.Properties['requestId']) {
                        $requestId = [string]$detail.requestId
                        break
                    }
                }
            }
        }
    }
    catch {
        # Not JSON: described by its excerpt below.
        $message = $null
    }
    if (-not $message) {
        $excerpt = ($Body -replace '\s+', ' ').Trim()
        if ($excerpt.Length -gt 200) { $excerpt = $excerpt.Substring(0, 200) + '...' }
        $message = if ($excerpt) { $excerpt } else { '(empty body)' }
    }
    $text = "$Method $Url returned HTTP ${StatusCode}: $message"
    if ($requestId) { $text += " (request id $requestId)" }
    [YcIam.YcIamException]::new($text, [uint32]7, 'HTTP_ERROR', $StatusCode, $requestId, $Body)
}

function SendRequest {
    # An authorized request; returns the response body, or throws a YcIamException for
    # HTTP >= 400.
    param(
        [Parameter(Mandatory)] [IntPtr] $Client,
        [Parameter(Mandatory)] [string] $Method,
        [Parameter(Mandatory)] [string] $Url,
        [string] $HeaderLines,
        [byte[]] $Body
    )
    $statusCode = 0
    $text = [YcIam.Native]::Request($Client, $Method, $Url, $HeaderLines, $Body, [ref]$statusCode)
    if ($statusCode -ge 400) {
        throw (NewHttpError -Method $Method -Url $Url -StatusCode $statusCode -Body $text)
    }
    $text
}

function ConvertFromBody {
    # A response body as Invoke-RestMethod gives it: JSON parsed into objects, other text as is.
    param([string] $Text)
    if ([string]::IsNullOrWhiteSpace($Text)) { return }
    $start = $Text.TrimStart()[0]
    if ($start -eq '{' -or $start -eq '[') {
        try {
            $parsed = ConvertFrom-Json -InputObject $Text -ErrorAction Stop
        }
        catch {
            return $Text
        }
        # An array comes out one element at a time (Windows PowerShell's ConvertFrom-Json
        # would write it as one object).
        return $parsed
    }
    $Text
}

function ResolveResourceManagerUrl {
    # The Resource Manager base URL, as the library derives it: the parameter, the
    # environment, or https://resource-manager.<API domain>.
    param($Bound)
    $given = FirstValue $Bound 'ResourceManagerEndpoint' $env:YC_RESOURCE_MANAGER_ENDPOINT
    if ($given) { return ([string]$given).TrimEnd('/') }
    $domain = FirstValue $Bound 'Endpoint' $env:YC_ENDPOINT
    if (-not $domain) { $domain = 'api.cloud.yandex.net' }
    $domain = ([string]$domain).Trim() -replace '^https?://', '' -replace '/.*$', '' -replace ':443$', ''
    "https://resource-manager.$domain"
}

# --- Cmdlets ---------------------------------------------------------------------------------

function Get-IamToken {
    <#
    .SYNOPSIS
    Gets a Yandex Cloud IAM token.

    .DESCRIPTION
    Gets an IAM token for a Yandex account (from its OAuth token), a service account (from an
    authorized key file), the service account of the VM (the metadata service), or a yc CLI
    profile. With no credential parameter it takes the first credential found: YC_IAM_TOKEN,
    YC_SERVICE_ACCOUNT_KEY_FILE, YC_OAUTH_TOKEN, YC_TOKEN, the yc CLI profile, the VM metadata
    service, the yc CLI itself.

    The token is cached for the session (and renewed well before it expires), so calling
    Get-IamToken often is cheap. Variables set inside the session ($env:YC_OAUTH_TOKEN = ...)
    are seen on every platform: the module passes them to the library.

    .PARAMETER OAuthToken
    The Yandex account's OAuth token, as a SecureString (Read-Host -AsSecureString) or a String.

    .PARAMETER ServiceAccountKeyFile
    An authorized key file of a service account, as written by `yc iam key create --output`.

    .PARAMETER Metadata
    Get the token of the service account attached to this VM from the metadata service.

    .PARAMETER Profile
    Use this profile of the yc CLI configuration.

    .PARAMETER Endpoint
    The API domain of the installation, e.g. api.yandexcloud.kz. Default: YC_ENDPOINT, else
    api.cloud.yandex.net.

    .PARAMETER IamEndpoint
    The IAM API base URL. Default: YC_IAM_ENDPOINT, else https://iam.<Endpoint>.

    .PARAMETER CaFile
    A PEM file of CA certificates to trust besides the system store (a TLS-inspecting proxy,
    a private installation). Default: YCIAM_CA_FILE.

    .PARAMETER TimeoutSec
    Give up after this many seconds, retries included. Default: 30.

    .PARAMETER NoCache
    Always get a new token: do not use or fill the cache. Default: YCIAM_NO_CACHE=1.

    .PARAMETER AsSecureString
    Return the token as a SecureString, for Invoke-RestMethod -Authentication Bearer -Token.

    .PARAMETER Detailed
    Return an object with IamToken and ExpiresAt (a DateTimeOffset, or $null when unknown).

    .EXAMPLE
    $IAM_TOKEN = Get-IamToken

    The IAM token of the first credential found (as `yc iam create-token`).

    .EXAMPLE
    $yandexPassportOauthToken = Read-Host -AsSecureString -Prompt 'OAuth token'
    Get-IamToken -OAuthToken $yandexPassportOauthToken

    Exchanges an OAuth token for an IAM token: the documented Invoke-RestMethod POST to
    https://iam.api.cloud.yandex.net/iam/v1/tokens.

    .EXAMPLE
    Invoke-RestMethod -Uri 'https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds' -Authentication Bearer -Token (Get-IamToken -AsSecureString)

    Uses the token with PowerShell 7's Invoke-RestMethod.

    .EXAMPLE
    Get-IamToken -ServiceAccountKeyFile ./key.json -Detailed

    The token of a service account, with its expiry time.

    .OUTPUTS
    System.String, System.Security.SecureString, or an object with IamToken and ExpiresAt.

    .LINK
    https://yandex.cloud/en/docs/iam/operations/iam-token/create
    #>
    [CmdletBinding(DefaultParameterSetName = 'DefaultChain')]
    [OutputType([string], [securestring], [pscustomobject])]
    param(
        [Parameter(Mandatory, ParameterSetName = 'OAuthToken')]
        [ValidateScript({ if ($_ -is [string] -or $_ -is [securestring]) { $true } else { throw 'Give the OAuth token as a SecureString or a String.' } })]
        [object] $OAuthToken,

        [Parameter(Mandatory, ParameterSetName = 'ServiceAccountKeyFile')]
        [ValidateNotNullOrEmpty()]
        [string] $ServiceAccountKeyFile,

        [Parameter(Mandatory, ParameterSetName = 'Metadata')]
        [switch] $Metadata,

        [Parameter(Mandatory, ParameterSetName = 'Profile')]
        [ValidateNotNullOrEmpty()]
        [string] $Profile,

        [string] $Endpoint,
        [string] $IamEndpoint,
        [string] $CaFile,
        [ValidateRange(0.001, 86400.0)]
        [double] $TimeoutSec,
        [switch] $NoCache,
        [switch] $AsSecureString,
        [switch] $Detailed
    )
    try {
        $client = GetClient -OptionsJson (NewClientOptions -Bound $PSBoundParameters -Cmdlet $PSCmdlet)
        $expiresAt = [long]0
        $token = [YcIam.Native]::Token($client, [ref]$expiresAt)
    }
    catch {
        ThrowYcError -Cmdlet $PSCmdlet -Failure $_
    }
    $value = $token
    if ($AsSecureString) { $value = ConvertTo-SecureString -String $token -AsPlainText -Force }
    if (-not $Detailed) { return $value }
    $expires = $null
    if ($expiresAt -gt 0) {
        # (FromUnixTimeSeconds is missing from .NET Framework 4.5, which 5.1 may run on.)
        $expires = [DateTimeOffset]::new(1970, 1, 1, 0, 0, 0, [TimeSpan]::Zero).AddSeconds($expiresAt)
    }
    [pscustomobject]@{
        PSTypeName = 'YcIam.IamToken'
        IamToken   = $value
        ExpiresAt  = $expires
    }
}

function Invoke-YcRestMethod {
    <#
    .SYNOPSIS
    Sends an authorized request to a Yandex Cloud API and returns the parsed answer.

    .DESCRIPTION
    Like Invoke-RestMethod, with "Authorization: Bearer <IAM token>" added: the token comes
    from the same credentials as Get-IamToken's and is cached and renewed by the session.
    A JSON answer comes back as objects (an array one element at a time), any other answer as
    a string. Transient failures (HTTP 429 and 5xx, connection errors) are retried within
    -TimeoutSec.

    An answer with HTTP status 400 or above is a terminating error whose message holds the
    API's message and request id; its exception (YcIam.YcIamException) has StatusCode,
    RequestId and ResponseBody, and its category follows the status (401 AuthenticationError,
    403 PermissionDenied, 404 ObjectNotFound, 429 LimitsExceeded, 5xx ResourceUnavailable).

    .PARAMETER Uri
    The absolute URL to call.

    .PARAMETER Method
    The HTTP method. Default: GET, or POST when -Body is given.

    .PARAMETER Body
    The request body: a string or byte array is sent as is; anything else (a hashtable, an
    object) as JSON (ConvertTo-Json -Depth 20 -Compress).

    .PARAMETER ContentType
    The Content-Type of the body. Default: application/json.

    .PARAMETER Headers
    More request headers. An Authorization header is ignored: the cmdlet sends its own.

    .PARAMETER IamToken
    Use this IAM token (a SecureString or a String) as it is.

    .PARAMETER OAuthToken
    Get the IAM token from this Yandex account OAuth token (a SecureString or a String).

    .PARAMETER ServiceAccountKeyFile
    Get the IAM token with this service account authorized key file.

    .PARAMETER Metadata
    Get the IAM token from the VM metadata service.

    .PARAMETER Profile
    Get the IAM token with this yc CLI profile.

    .PARAMETER Endpoint
    The API domain of the installation. Default: YC_ENDPOINT, else api.cloud.yandex.net.

    .PARAMETER IamEndpoint
    The IAM API base URL. Default: YC_IAM_ENDPOINT, else https://iam.<Endpoint>.

    .PARAMETER ResourceManagerEndpoint
    The Resource Manager API base URL. Default: YC_RESOURCE_MANAGER_ENDPOINT, else
    https://resource-manager.<Endpoint>.

    .PARAMETER CaFile
    A PEM file of CA certificates to trust besides the system store. Default: YCIAM_CA_FILE.

    .PARAMETER TimeoutSec
    Give up after this many seconds, retries included. Default: 30.

    .PARAMETER NoCache
    Get a new IAM token instead of the cached one.

    .EXAMPLE
    Invoke-YcRestMethod -Uri 'https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds'

    The documented list-clouds GET, answered as objects.

    .EXAMPLE
    Invoke-YcRestMethod -Method POST -Uri 'https://iam.api.cloud.yandex.net/iam/v1/tokens' -Body @{ yandexPassportOauthToken = $oauth } -IamToken $IAM_TOKEN

    A POST whose hashtable body is sent as JSON.

    .EXAMPLE
    try { Invoke-YcRestMethod "https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds/$id" }
    catch { "HTTP $($_.Exception.StatusCode), request id $($_.Exception.RequestId)" }

    Reads the HTTP status and the request id of a failed call.

    .OUTPUTS
    System.Management.Automation.PSCustomObject, or System.String for a non-JSON answer.
    #>
    [CmdletBinding(DefaultParameterSetName = 'DefaultChain')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidateNotNull()]
        [Uri] $Uri,

        [ValidateNotNullOrEmpty()]
        [string] $Method,

        [object] $Body,

        [ValidateNotNullOrEmpty()]
        [string] $ContentType = 'application/json',

        [System.Collections.IDictionary] $Headers,

        [Parameter(Mandatory, ParameterSetName = 'IamToken')]
        [ValidateScript({ if ($_ -is [string] -or $_ -is [securestring]) { $true } else { throw 'Give the IAM token as a SecureString or a String.' } })]
        [object] $IamToken,

        [Parameter(Mandatory, ParameterSetName = 'OAuthToken')]
        [ValidateScript({ if ($_ -is [string] -or $_ -is [securestring]) { $true } else { throw 'Give the OAuth token as a SecureString or a String.' } })]
        [object] $OAuthToken,

        [Parameter(Mandatory, ParameterSetName = 'ServiceAccountKeyFile')]
        [ValidateNotNullOrEmpty()]
        [string] $ServiceAccountKeyFile,

        [Parameter(Mandatory, ParameterSetName = 'Metadata')]
        [switch] $Metadata,

        [Parameter(Mandatory, ParameterSetName = 'Profile')]
        [ValidateNotNullOrEmpty()]
        [string] $Profile,

        [string] $Endpoint,
        [string] $IamEndpoint,
        [string] $ResourceManagerEndpoint,
        [string] $CaFile,
        [ValidateRange(0.001, 86400.0)]
        [double] $TimeoutSec,
        [switch] $NoCache
    )
    $url = $Uri.OriginalString
    try {
        if (-not $Uri.IsAbsoluteUri) {
            throw ([YcIam.YcIamException]::new("-Uri must be an absolute URL, not '$url'.",
                    [uint32]1, 'INVALID_ARGUMENT', 0, $null, $null))
        }
        # Assigned statement by statement: an if-expression would unroll the byte array.
        $bytes = $null
        if ($Body -is [byte[]]) { $bytes = $Body }
        elseif ($Body -is [string]) { $bytes = [Text.Encoding]::UTF8.GetBytes($Body) }
        elseif ($null -ne $Body) { $bytes = [Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -InputObject $Body -Depth 20 -Compress)) }
        $verb = if ($Method) { $Method.ToUpperInvariant() } elseif ($null -ne $bytes) { 'POST' } else { 'GET' }

        $lines = New-Object System.Text.StringBuilder
        $hasContentType = $false
        if ($Headers) {
            foreach ($name in $Headers.Keys) {
                $value = [string]$Headers[$name]
                if ("$name$value" -match '[\r\n]') {
                    throw ([YcIam.YcIamException]::new("The header '$name' has a line break in it.",
                            [uint32]1, 'INVALID_ARGUMENT', 0, $null, $null))
                }
                if ($name -eq 'Authorization') {
                    Write-Warning 'Ignoring the Authorization header you gave: Invoke-YcRestMethod sends its own.'
                    continue
                }
                if ($name -eq 'Content-Type') { $hasContentType = $true }
                [void]$lines.Append("${name}: $value`n")
            }
        }
        if ($null -ne $bytes -and -not $hasContentType) {
            [void]$lines.Append("Content-Type: $ContentType`n")
        }

        $client = GetClient -OptionsJson (NewClientOptions -Bound $PSBoundParameters -Cmdlet $PSCmdlet)
        $text = SendRequest -Client $client -Method $verb -Url $Uri.AbsoluteUri -HeaderLines $lines.ToString() -Body $bytes
    }
    catch {
        ThrowYcError -Cmdlet $PSCmdlet -Failure $_ -Target $url
    }
    ConvertFromBody -Text $text
}

function Get-YcCloud {
    <#
    .SYNOPSIS
    Lists the Yandex Cloud clouds the account can see.

    .DESCRIPTION
    Sends the documented list-clouds call (GET /resource-manager/v1/clouds) with the IAM token
    of the given credential and follows nextPageToken through every page, writing one object
    per cloud (id, createdAt, name, description, organizationId, labels).

    .PARAMETER PageSize
    Clouds per request (1 to 1000). Default: the API's, 100.

    .PARAMETER IamToken
    Use this IAM token (a SecureString or a String) as it is.

    .PARAMETER OAuthToken
    Get the IAM token from this Yandex account OAuth token (a SecureString or a String).

    .PARAMETER ServiceAccountKeyFile
    Get the IAM token with this service account authorized key file.

    .PARAMETER Metadata
    Get the IAM token from the VM metadata service.

    .PARAMETER Profile
    Get the IAM token with this yc CLI profile.

    .PARAMETER Endpoint
    The API domain of the installation. Default: YC_ENDPOINT, else api.cloud.yandex.net.

    .PARAMETER IamEndpoint
    The IAM API base URL. Default: YC_IAM_ENDPOINT, else https://iam.<Endpoint>.

    .PARAMETER ResourceManagerEndpoint
    The Resource Manager API base URL. Default: YC_RESOURCE_MANAGER_ENDPOINT, else
    https://resource-manager.<Endpoint>.

    .PARAMETER CaFile
    A PEM file of CA certificates to trust besides the system store. Default: YCIAM_CA_FILE.

    .PARAMETER TimeoutSec
    Give up on each request after this many seconds, retries included. Default: 30.

    .PARAMETER NoCache
    Get a new IAM token instead of the cached one.

    .EXAMPLE
    Get-YcCloud | Format-Table id, name, organizationId

    Every cloud, as a table.

    .EXAMPLE
    $IAM_TOKEN = Get-IamToken
    Get-YcCloud -IamToken $IAM_TOKEN

    The documented flow: get a token, then list the clouds with it.

    .EXAMPLE
    Get-YcCloud -OAuthToken (Read-Host -AsSecureString -Prompt 'OAuth token') | Select-Object -First 1

    .OUTPUTS
    System.Management.Automation.PSCustomObject, one per cloud.
    #>
    [CmdletBinding(DefaultParameterSetName = 'DefaultChain')]
    [OutputType([pscustomobject])]
    param(
        [ValidateRange(1, 1000)]
        [int] $PageSize,

        [Parameter(Mandatory, ParameterSetName = 'IamToken')]
        [ValidateScript({ if ($_ -is [string] -or $_ -is [securestring]) { $true } else { throw 'Give the IAM token as a SecureString or a String.' } })]
        [object] $IamToken,

        [Parameter(Mandatory, ParameterSetName = 'OAuthToken')]
        [ValidateScript({ if ($_ -is [string] -or $_ -is [securestring]) { $true } else { throw 'Give the OAuth token as a SecureString or a String.' } })]
        [object] $OAuthToken,

        [Parameter(Mandatory, ParameterSetName = 'ServiceAccountKeyFile')]
        [ValidateNotNullOrEmpty()]
        [string] $ServiceAccountKeyFile,

        [Parameter(Mandatory, ParameterSetName = 'Metadata')]
        [switch] $Metadata,

        [Parameter(Mandatory, ParameterSetName = 'Profile')]
        [ValidateNotNullOrEmpty()]
        [string] $Profile,

        [string] $Endpoint,
        [string] $IamEndpoint,
        [string] $ResourceManagerEndpoint,
        [string] $CaFile,
        [ValidateRange(0.001, 86400.0)]
        [double] $TimeoutSec,
        [switch] $NoCache
    )
    $base = ResolveResourceManagerUrl -Bound $PSBoundParameters
    $url = "$base/resource-manager/v1/clouds"
    try {
        $client = GetClient -OptionsJson (NewClientOptions -Bound $PSBoundParameters -Cmdlet $PSCmdlet)
    }
    catch {
        ThrowYcError -Cmdlet $PSCmdlet -Failure $_ -Target $url
    }
    $pageToken = $null
    do {
        $query = @()
        if ($PageSize) { $query += "pageSize=$PageSize" }
        if ($pageToken) { $query += 'pageToken=' + [Uri]::EscapeDataString($pageToken) }
        $pageUrl = if ($query) { $url + '?' + ($query -join '&') } else { $url }
        try {
            $page = ConvertFrom-Json -InputObject (SendRequest -Client $client -Method GET -Url $pageUrl) -ErrorAction Stop
        }
        catch {
            ThrowYcError -Cmdlet $PSCmdlet -Failure $_ -Target $pageUrl
        }
        if ($null -eq $page) { break }
        # Empty lists and the last page's token are left out of the JSON altogether.
        if ($page.PSObject.Properties['clouds']) {
            foreach ($cloud in @($page.clouds)) { $cloud }
        }
        $pageToken = if ($page.PSObject.Properties['nextPageToken']) { [string]$page.nextPageToken } else { $null }
    } while ($pageToken)
}

function Revoke-IamToken {
    <#
    .SYNOPSIS
    Revokes a Yandex Cloud IAM token.

    .DESCRIPTION
    Revokes the IAM token (POST /iam/v1/tokens:revoke, as `yc iam revoke-token`) and returns
    the id of the subject it belonged to. The token is its own authorization: no other
    credential is needed. Accepts tokens from the pipeline, including Get-IamToken -Detailed
    objects.

    .PARAMETER IamToken
    The IAM token to revoke, as a SecureString or a String.

    .PARAMETER Endpoint
    The API domain of the installation. Default: YC_ENDPOINT, else api.cloud.yandex.net.

    .PARAMETER IamEndpoint
    The IAM API base URL. Default: YC_IAM_ENDPOINT, else https://iam.<Endpoint>.

    .PARAMETER CaFile
    A PEM file of CA certificates to trust besides the system store. Default: YCIAM_CA_FILE.

    .PARAMETER TimeoutSec
    Give up after this many seconds, retries included. Default: 30.

    .EXAMPLE
    Revoke-IamToken -IamToken $IAM_TOKEN

    Revokes a token; returns an object with SubjectId.

    .EXAMPLE
    Get-IamToken -NoCache | Revoke-IamToken -WhatIf

    Shows what would be revoked.

    .OUTPUTS
    An object with SubjectId.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline)]
        [ValidateNotNull()]
        [object] $IamToken,

        [string] $Endpoint,
        [string] $IamEndpoint,
        [string] $CaFile,
        [ValidateRange(0.001, 86400.0)]
        [double] $TimeoutSec
    )
    process {
        $given = $IamToken
        if ($given -isnot [string] -and $given -isnot [securestring] -and
            $null -ne $given.PSObject.Properties['IamToken']) {
            $given = $given.IamToken                          # a Get-IamToken -Detailed object
        }
        if ($given -isnot [string] -and $given -isnot [securestring]) {
            $failure = [YcIam.YcIamException]::new('Give the IAM token as a SecureString or a String.',
                [uint32]1, 'INVALID_ARGUMENT', 0, $null, $null)
            ThrowYcError -Cmdlet $PSCmdlet -Failure $failure
        }
        $token = ConvertToPlainText $given
        $shown = if ($token.Length -gt 12) { $token.Substring(0, 8) + '...' } else { 'the IAM token' }
        if (-not $PSCmdlet.ShouldProcess($shown, 'Revoke IAM token')) { return }

        $bound = @{}
        foreach ($name in $PSBoundParameters.Keys) { $bound[$name] = $PSBoundParameters[$name] }
        $bound['IamToken'] = $token
        # A client for this one token: not cached, since the token is gone afterwards.
        $client = [IntPtr]::Zero
        try {
            $client = [YcIam.Native]::NewClient((NewClientOptions -Bound $bound -Cmdlet $PSCmdlet))
            $subjectId = [YcIam.Native]::Revoke($client, $token)
        }
        catch {
            ThrowYcError -Cmdlet $PSCmdlet -Failure $_
        }
        finally {
            if ($client -ne [IntPtr]::Zero) { [YcIam.Native]::FreeClient($client) }
        }
        [pscustomobject]@{ SubjectId = $subjectId }
    }
}

Export-ModuleMember -Function *-*
