#Requires -Version 5.1
<#
.SYNOPSIS
Lists the clouds the account can see.

.DESCRIPTION
A drop-in for the documented PowerShell flow:

    $IAM_TOKEN = yc iam create-token
    curl.exe --request GET --header "Authorization: Bearer $IAM_TOKEN" https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds

done by the YcIam module's Get-YcCloud, which follows nextPageToken through every page.
Writes one object per cloud, or with -AsJson the documented result, {"clouds": [...]}.

The IAM token: -IamToken, else $env:IAM_TOKEN, else what Get-IamToken finds (YC_IAM_TOKEN,
YC_SERVICE_ACCOUNT_KEY_FILE, YC_OAUTH_TOKEN, YC_TOKEN, the yc CLI profile, the VM metadata
service). The YcIam module is taken from the session, else from $env:PSModulePath, else
from this repository's dist/YcIam (made by scripts/package-powershell-module.sh).

.PARAMETER IamToken
The IAM token to send, as a SecureString or a String. Default: $env:IAM_TOKEN, else the
token of the first credential found.

.PARAMETER Uri
The list-clouds URL of the documented call. Default:
https://resource-manager.<Endpoint>/resource-manager/v1/clouds.

.PARAMETER PageSize
Clouds per request (1 to 1000). Default: the API's, 100.

.PARAMETER ResourceManagerEndpoint
The Resource Manager API base URL (the -Uri without /resource-manager/v1/clouds). Default:
$env:YC_RESOURCE_MANAGER_ENDPOINT, else https://resource-manager.<Endpoint>.

.PARAMETER IamEndpoint
The IAM API base URL, used when a token has to be made. Default: $env:YC_IAM_ENDPOINT, else
https://iam.<Endpoint>.

.PARAMETER Endpoint
The API domain of the installation, e.g. api.yandexcloud.kz. Default: $env:YC_ENDPOINT, else
api.cloud.yandex.net.

.PARAMETER CaFile
A PEM file of CA certificates to trust besides the system store. Default: $env:YCIAM_CA_FILE.

.PARAMETER TimeoutSec
Give up on each request after this many seconds, retries included. Default: 30.

.PARAMETER AsJson
Write the documented result, {"clouds": [...]}, as JSON text.

.EXAMPLE
$IAM_TOKEN = ./scripts/Get-IamToken.ps1
./scripts/Get-YcCloud.ps1 -IamToken $IAM_TOKEN | Format-Table id, name

The documented flow: get a token, then list the clouds with it.

.EXAMPLE
./scripts/Get-YcCloud.ps1 -AsJson

The documented result, with the token of the first credential found.

.OUTPUTS
System.Management.Automation.PSCustomObject, one per cloud; or System.String with -AsJson.
#>
[CmdletBinding()]
param(
    [ValidateScript({ if ($_ -is [string] -or $_ -is [securestring]) { $true } else { throw 'Give the IAM token as a SecureString or a String.' } })]
    [object] $IamToken,

    [ValidatePattern('/resource-manager/v1/clouds/?$')]
    [string] $Uri,

    [ValidateRange(1, 1000)]
    [int] $PageSize,

    [string] $ResourceManagerEndpoint,
    [string] $IamEndpoint,
    [string] $Endpoint,
    [string] $CaFile,
    [ValidateRange(0.001, 86400.0)]
    [double] $TimeoutSec,
    [switch] $AsJson
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

$arguments = @{}
foreach ($name in 'PageSize', 'ResourceManagerEndpoint', 'IamEndpoint', 'Endpoint', 'CaFile', 'TimeoutSec') {
    if ($PSBoundParameters.ContainsKey($name)) { $arguments[$name] = $PSBoundParameters[$name] }
}
if ($PSBoundParameters.ContainsKey('IamToken')) {
    $arguments['IamToken'] = $IamToken
}
elseif ($env:IAM_TOKEN) {
    # The documented flow keeps the token in IAM_TOKEN.
    $arguments['IamToken'] = $env:IAM_TOKEN
}
if ($Uri) {
    $arguments['ResourceManagerEndpoint'] = $Uri -replace '/resource-manager/v1/clouds/?$', ''
}

if ($AsJson) {
    $clouds = @(Get-YcCloud @arguments)
    ConvertTo-Json -InputObject @{ clouds = $clouds } -Depth 10
}
else {
    Get-YcCloud @arguments
}
