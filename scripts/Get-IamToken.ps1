#Requires -Version 5.1
<#
.SYNOPSIS
Exchanges a Yandex account OAuth token for an IAM token and writes the IAM token.

.DESCRIPTION
A drop-in for the documented PowerShell flow:

    $yandexPassportOauthToken = "<OAuth_token>"
    $Body = @{ yandexPassportOauthToken = "$yandexPassportOauthToken" } | ConvertTo-Json -Compress
    Invoke-RestMethod -Method 'POST' -Uri 'https://iam.api.cloud.yandex.net/iam/v1/tokens' -Body $Body -ContentType 'Application/json' | Select-Object -ExpandProperty iamToken

done by the YcIam module's Get-IamToken, which retries transient failures, reports the
server's message and request id on failure, and caches the token for the session.

The OAuth token comes from -OAuthToken, else $env:YC_OAUTH_TOKEN, else a prompt that does
not echo it. The YcIam module is taken from the session, else from $env:PSModulePath, else
from this repository's dist/YcIam (made by scripts/package-powershell-module.sh).

.PARAMETER OAuthToken
The Yandex account OAuth token, as a SecureString or a String. Default: $env:YC_OAUTH_TOKEN,
else you are asked for it.

.PARAMETER Uri
The token URL of the documented call. Default: https://iam.<Endpoint>/iam/v1/tokens.

.PARAMETER IamEndpoint
The IAM API base URL (the -Uri without /iam/v1/tokens). Default: $env:YC_IAM_ENDPOINT, else
https://iam.<Endpoint>.

.PARAMETER Endpoint
The API domain of the installation, e.g. api.yandexcloud.kz. Default: $env:YC_ENDPOINT, else
api.cloud.yandex.net.

.PARAMETER CaFile
A PEM file of CA certificates to trust besides the system store. Default: $env:YCIAM_CA_FILE.

.PARAMETER TimeoutSec
Give up after this many seconds, retries included. Default: 30.

.PARAMETER NoCache
Always ask the IAM API for a new token.

.PARAMETER AsSecureString
Write the token as a SecureString (for Invoke-RestMethod -Authentication Bearer -Token).

.PARAMETER Detailed
Write an object with IamToken and ExpiresAt instead of the token alone.

.EXAMPLE
$IAM_TOKEN = ./scripts/Get-IamToken.ps1

With $env:YC_OAUTH_TOKEN set, or after answering the prompt.

.EXAMPLE
./scripts/Get-IamToken.ps1 -OAuthToken (Read-Host -AsSecureString -Prompt 'OAuth token') -Detailed

The token and its expiry time.

.EXAMPLE
./scripts/Get-IamToken.ps1 -Uri 'https://iam.api.yandexcloud.kz/iam/v1/tokens'

The Kazakhstan installation, named as in the documented call.

.OUTPUTS
System.String (or a SecureString, or an object with IamToken and ExpiresAt).
#>
[CmdletBinding()]
param(
    [ValidateScript({ if ($_ -is [string] -or $_ -is [securestring]) { $true } else { throw 'Give the OAuth token as a SecureString or a String.' } })]
    [object] $OAuthToken,

    [ValidatePattern('/iam/v1/tokens/?$')]
    [string] $Uri,

    [string] $IamEndpoint,
    [string] $Endpoint,
    [string] $CaFile,
    [ValidateRange(0.001, 86400.0)]
    [double] $TimeoutSec,
    [switch] $NoCache,
    [switch] $AsSecureString,
    [switch] $Detailed
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

if (-not (Get-Module YcIam)) {
    if (Get-Module -ListAvailable YcIam) {
        Import-Module YcIam
    }
    else {
        $packaged = [IO.Path]::Combine($PSScriptRoot, '..', 'dist', 'YcIam', 'YcIam.psd1')
        if (-not (Test-Path -LiteralPath $packaged)) {
            throw "The YcIam module is neither installed nor packed at '$packaged': run scripts/package-powershell-module.sh, or install YcIam."
        }
        Import-Module $packaged
    }
}

if (-not $PSBoundParameters.ContainsKey('OAuthToken')) {
    $OAuthToken = if ($env:YC_OAUTH_TOKEN) { $env:YC_OAUTH_TOKEN } else { Read-Host -AsSecureString -Prompt 'Yandex OAuth token' }
}

$arguments = @{ OAuthToken = $OAuthToken }
foreach ($name in 'IamEndpoint', 'Endpoint', 'CaFile', 'TimeoutSec', 'NoCache', 'AsSecureString', 'Detailed') {
    if ($PSBoundParameters.ContainsKey($name)) { $arguments[$name] = $PSBoundParameters[$name] }
}
if ($Uri) {
    $arguments['IamEndpoint'] = $Uri -replace '/iam/v1/tokens/?$', ''
}
Get-IamToken @arguments
