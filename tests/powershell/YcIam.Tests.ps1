#Requires -Version 5.1
# Pester 5 tests of the packaged YcIam module (dist/YcIam, made by
# scripts/package-powershell-module.sh) against the local fake of the Yandex Cloud APIs
# (target/debug/yciam-fake). Run them with scripts/test-powershell.sh.
#
# $env:YCIAM_MODULE_DIR and $env:YCIAM_FAKE override where the module and the fake are.

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot (Join-Path '..' '..'))).Path
    $onWindows = [Environment]::OSVersion.Platform -eq [PlatformID]::Win32NT
    $script:ModuleDir = if ($env:YCIAM_MODULE_DIR) { $env:YCIAM_MODULE_DIR } else { [IO.Path]::Combine($Repo, 'dist', 'YcIam') }
    $fakeBin = if ($env:YCIAM_FAKE) { $env:YCIAM_FAKE } else { [IO.Path]::Combine($Repo, 'target', 'debug', 'yciam-fake') }
    if ($onWindows -and -not $env:YCIAM_FAKE) { $fakeBin += '.exe' }

    # The fake: it exits when its standard input closes (AfterAll closes it).
    $script:FakeDir = Join-Path ([IO.Path]::GetTempPath()) ('yciam-pester-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $FakeDir
    $start = New-Object System.Diagnostics.ProcessStartInfo
    $start.FileName = $fakeBin
    $start.Arguments = "--dir `"$FakeDir`" --exit-on-stdin-eof"
    $start.UseShellExecute = $false
    $start.RedirectStandardInput = $true
    $script:FakeProcess = [System.Diagnostics.Process]::Start($start)
    $endpointsFile = Join-Path $FakeDir 'endpoints.json'
    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    while (-not (Test-Path -LiteralPath $endpointsFile) -and [DateTime]::UtcNow -lt $deadline) {
        Start-Sleep -Milliseconds 50
    }
    if (-not (Test-Path -LiteralPath $endpointsFile)) { throw "the fake at $fakeBin did not start" }
    $endpoints = Get-Content -Raw -LiteralPath $endpointsFile | ConvertFrom-Json
    $script:Https = $endpoints.https
    $script:Http = $endpoints.http
    $script:MetadataAddr = $endpoints.metadata_addr
    $script:CaFile = Join-Path $FakeDir 'ca.pem'
    $script:WrongCaFile = Join-Path $FakeDir 'wrong-ca.pem'
    $script:OAuth = (Get-Content -Raw -LiteralPath (Join-Path $FakeDir 'oauth-token')).Trim()

    # Where every cmdlet call goes: the fake, trusted through its CA.
    $script:At = @{ IamEndpoint = $Https; ResourceManagerEndpoint = $Https; CaFile = $CaFile }
    $script:TokenAt = @{ IamEndpoint = $Https; CaFile = $CaFile }

    function script:Reset-Fake { $null = Invoke-RestMethod -Method Post -Uri "$Http/_fake/reset" }
    function script:Get-FakeCount([string] $Route) {
        $counts = (Invoke-RestMethod -Uri "$Http/_fake/stats").counts
        if ($counts.PSObject.Properties[$Route]) { [int]$counts.$Route } else { 0 }
    }
    function script:Add-FakeFault([string] $Route, [int] $Count, [hashtable] $Fault) {
        $body = ConvertTo-Json -Compress -Depth 5 -InputObject @{ route = $Route; fault = $Fault }
        for ($i = 0; $i -lt $Count; $i++) {
            $null = Invoke-RestMethod -Method Post -Uri "$Http/_fake/faults" -Body $body -ContentType 'application/json'
        }
    }
    function script:ConvertTo-PlainText([securestring] $Secure) {
        $bstr = [Runtime.InteropServices.Marshal]::SecureStringToBSTR($Secure)
        try { [Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr) }
        finally { [Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr) }
    }
    Import-Module (Join-Path $ModuleDir 'YcIam.psd1') -Force -ErrorAction Stop
}

AfterAll {
    Remove-Module YcIam -ErrorAction SilentlyContinue
    if ($FakeProcess) {
        $FakeProcess.StandardInput.Close()
        if (-not $FakeProcess.WaitForExit(10000)) { $FakeProcess.Kill() }
    }
    Remove-Item -Recurse -Force -LiteralPath $FakeDir -ErrorAction SilentlyContinue
}

Describe 'The YcIam module' {
    It 'exports exactly the four cmdlets' {
        (Get-Command -Module YcIam).Name | Sort-Object |
            Should -Be @('Get-IamToken', 'Get-YcCloud', 'Invoke-YcRestMethod', 'Revoke-IamToken')
    }

    It 'has a valid manifest for Windows PowerShell 5.1 and PowerShell 7' {
        $manifest = Test-ModuleManifest -Path (Join-Path $ModuleDir 'YcIam.psd1')
        $manifest.Version | Should -Be ([version]'0.1.0')
        $manifest.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        $manifest.PowerShellVersion | Should -Be ([version]'5.1')
    }

    It 'documents <_> with a synopsis and examples' -ForEach @('Get-IamToken', 'Get-YcCloud', 'Invoke-YcRestMethod', 'Revoke-IamToken') {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
    }

    It 'loaded the native library from its own runtimes folder' {
        $path = & (Get-Module YcIam) { $script:LibraryPath }
        $path | Should -BeLike ((Join-Path (Get-Module YcIam).ModuleBase 'runtimes') + '*')
        Test-Path -LiteralPath $path | Should -BeTrue
        & (Get-Module YcIam) { $script:LibraryVersion } | Should -Be '0.1.0'
    }

    It 'keeps private helpers private' {
        & (Get-Module YcIam) { Get-Command GetClient } | Should -Not -BeNullOrEmpty
        Get-Command GetClient -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Get-IamToken' {
    It 'exchanges an OAuth token given as a String' {
        Get-IamToken -OAuthToken $OAuth @TokenAt | Should -Match '^t1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
    }

    It 'exchanges an OAuth token given as a SecureString' {
        $secure = ConvertTo-SecureString -String $OAuth -AsPlainText -Force
        Get-IamToken -OAuthToken $secure @TokenAt | Should -Match '^t1\.'
    }

    It 'sends the documented request' {
        Reset-Fake
        $null = Get-IamToken -OAuthToken $OAuth -NoCache @TokenAt
        $request = @(Invoke-RestMethod -Uri "$Http/_fake/requests" | Where-Object route -EQ 'create_token')[-1]
        $request.method | Should -Be 'POST'
        $request.path | Should -Be '/iam/v1/tokens'
        ($request.body | ConvertFrom-Json).yandexPassportOauthToken | Should -Be $OAuth
    }

    It 'caches the token for the session, unless -NoCache' {
        $first = Get-IamToken -OAuthToken $OAuth @TokenAt
        Reset-Fake
        Get-IamToken -OAuthToken $OAuth @TokenAt | Should -Be $first
        Get-IamToken -OAuthToken $OAuth @TokenAt | Should -Be $first
        Get-FakeCount create_token | Should -Be 0
        $null = Get-IamToken -OAuthToken $OAuth @TokenAt -NoCache
        $null = Get-IamToken -OAuthToken $OAuth @TokenAt -NoCache
        Get-FakeCount create_token | Should -Be 2
    }

    It 'returns a SecureString with -AsSecureString' {
        $plain = Get-IamToken -OAuthToken $OAuth @TokenAt
        $secure = Get-IamToken -OAuthToken $OAuth @TokenAt -AsSecureString
        $secure | Should -BeOfType [securestring]
        ConvertTo-PlainText $secure | Should -Be $plain
    }

    It 'returns the token and its expiry with -Detailed' {
        $detailed = Get-IamToken -OAuthToken $OAuth @TokenAt -Detailed
        $detailed.IamToken | Should -Match '^t1\.'
        $detailed.ExpiresAt | Should -BeOfType [DateTimeOffset]
        $detailed.ExpiresAt | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddHours(1))
        $detailed.ExpiresAt | Should -BeLessThan ([DateTimeOffset]::UtcNow.AddHours(12).AddMinutes(1))
        (Get-IamToken -OAuthToken $OAuth @TokenAt -Detailed -AsSecureString).IamToken | Should -BeOfType [securestring]
    }

    It 'takes the endpoint and CA from $env: set in the session' {
        $savedEndpoint = $env:YC_IAM_ENDPOINT
        $savedCaFile = $env:YCIAM_CA_FILE
        try {
            $env:YC_IAM_ENDPOINT = $Https
            $env:YCIAM_CA_FILE = $CaFile
            Get-IamToken -OAuthToken $OAuth -NoCache | Should -Match '^t1\.'
        }
        finally {
            $env:YC_IAM_ENDPOINT = $savedEndpoint
            $env:YCIAM_CA_FILE = $savedCaFile
        }
    }

    It 'uses a service account key file, relative to the current location' {
        $key = Invoke-RestMethod -Method Post -Uri "$Http/_fake/sa_key?bits=2048"
        $keyFile = Join-Path $FakeDir 'key.json'
        ConvertTo-Json -InputObject $key -Depth 5 | Set-Content -LiteralPath $keyFile -Encoding ascii
        Push-Location $FakeDir
        try {
            Get-IamToken -ServiceAccountKeyFile 'key.json' @TokenAt -NoCache | Should -Match '^t1\.'
        }
        finally {
            Pop-Location
        }
    }

    It 'gets the VM service account token with -Metadata' {
        $saved = $env:YC_METADATA_ADDR
        try {
            $env:YC_METADATA_ADDR = $MetadataAddr
            Get-IamToken -Metadata -NoCache | Should -Match '^t1\.'
        }
        finally {
            $env:YC_METADATA_ADDR = $saved
        }
    }

    It 'follows the default chain: YC_OAUTH_TOKEN set inside the session' {
        # The module hands $env: to the library, so this works on Linux and macOS too.
        $saved = $env:YC_OAUTH_TOKEN
        try {
            $env:YC_OAUTH_TOKEN = $OAuth
            Get-IamToken -NoCache -IamEndpoint $Https -CaFile $CaFile | Should -Match '^t1\.'
        }
        finally {
            $env:YC_OAUTH_TOKEN = $saved
        }
    }

    It 'fails with the server message, the request id and AuthenticationError for a refused token' {
        $bad = 'y0_this-token-was-never-issued-0123456789'
        $failure = { Get-IamToken -OAuthToken $bad -NoCache @TokenAt } | Should -Throw -PassThru
        $failure.Exception | Should -BeOfType [YcIam.YcIamException]
        $failure.Exception.Status | Should -Be 3
        $failure.Exception.StatusName | Should -Be 'CREDENTIAL_REJECTED'
        $failure.Exception.StatusCode | Should -Be 401
        $failure.Exception.RequestId | Should -Not -BeNullOrEmpty
        $failure.Exception.Message | Should -BeLike '*OAuth token is invalid or expired*'
        $failure.Exception.Message | Should -BeLike "*$($failure.Exception.RequestId)*"
        $failure.Exception.Message | Should -Not -BeLike "*$bad*"
        $failure.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $failure.FullyQualifiedErrorId | Should -Be 'YcIam.CREDENTIAL_REJECTED,Get-IamToken'
    }

    It 'retries a 503 and succeeds' {
        Reset-Fake
        Add-FakeFault create_token 1 @{ kind = 'status'; http = 503; grpc = 14; message = 'try again' }
        Get-IamToken -OAuthToken $OAuth -NoCache @TokenAt | Should -Match '^t1\.'
        Get-FakeCount create_token | Should -Be 2
    }

    It 'fails with ResourceUnavailable when the server keeps failing' {
        Reset-Fake
        Add-FakeFault create_token 10 @{ kind = 'status'; http = 500; grpc = 13; message = 'the fake is down' }
        try {
            $failure = { Get-IamToken -OAuthToken $OAuth -NoCache -TimeoutSec 20 @TokenAt } | Should -Throw -PassThru
        }
        finally {
            Reset-Fake
        }
        $failure.Exception.StatusName | Should -Be 'SERVER'
        $failure.Exception.Message | Should -BeLike '*the fake is down*'
        $failure.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
    }

    It 'fails with ConnectionError when the server certificate is not trusted' {
        $failure = { Get-IamToken -OAuthToken $OAuth -NoCache -IamEndpoint $Https -CaFile $WrongCaFile -TimeoutSec 5 } |
            Should -Throw -PassThru
        $failure.Exception.StatusName | Should -Be 'NETWORK'
        $failure.CategoryInfo.Category | Should -Be 'ConnectionError'
    }

    It 'refuses a token that is neither a String nor a SecureString' {
        { Get-IamToken -OAuthToken 42 @TokenAt } | Should -Throw '*SecureString or a String*'
    }

    It 'refuses two credentials at once' {
        { Get-IamToken -OAuthToken $OAuth -Metadata @TokenAt } | Should -Throw
    }
}

Describe 'Invoke-YcRestMethod' {
    It 'returns a JSON answer as objects, with the bearer token sent' {
        $token = Get-IamToken -OAuthToken $OAuth @TokenAt
        $echo = Invoke-YcRestMethod -Uri "$Https/test/v1/echo?x=1" -OAuthToken $OAuth @At
        $echo.method | Should -Be 'GET'
        $echo.path | Should -Be '/test/v1/echo'
        $echo.headers.authorization | Should -Be "Bearer $token"
    }

    It 'sends a hashtable -Body as compact JSON with POST' {
        $echo = Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -Body @{ name = 'облако ☁'; n = 1; nested = @{ a = @(1, 2) } } -OAuthToken $OAuth @At
        $echo.method | Should -Be 'POST'
        $echo.headers.'content-type' | Should -Be 'application/json'
        $sent = $echo.body | ConvertFrom-Json
        $sent.name | Should -Be 'облако ☁'
        $sent.nested.a | Should -Be @(1, 2)
        $echo.body | Should -Not -BeLike '*": *'     # -Compress
        $echo.body | Should -Not -Match '\n'
    }

    It 'sends a string -Body as is, with -Method, -ContentType and -Headers' {
        $echo = Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -Method put -Body 'plain text' -ContentType 'text/plain' -Headers @{ 'X-Yciam-Test' = 'yes' } -OAuthToken $OAuth @At
        $echo.method | Should -Be 'PUT'
        $echo.body | Should -Be 'plain text'
        $echo.headers.'content-type' | Should -Be 'text/plain'
        $echo.headers.'x-yciam-test' | Should -Be 'yes'
    }

    It 'ignores an Authorization header with a warning' {
        $echo = Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -Headers @{ Authorization = 'Bearer mine' } -OAuthToken $OAuth @At -WarningVariable warnings -WarningAction SilentlyContinue
        $echo.headers.authorization | Should -Not -Be 'Bearer mine'
        $warnings | Should -Not -BeNullOrEmpty
    }

    It 'takes an IAM token as a SecureString' {
        $secure = Get-IamToken -OAuthToken $OAuth @TokenAt -AsSecureString
        (Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -IamToken $secure @At).method | Should -Be 'GET'
    }

    It 'returns a non-JSON answer as a string' {
        Add-FakeFault echo 1 @{ kind = 'html'; status = 200 }
        $page = Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -OAuthToken $OAuth @At
        $page | Should -BeOfType [string]
        $page | Should -BeLike '*<html>*'
    }

    It 'fails on HTTP 404 with the message, the request id and the status' {
        $uri = "$Https/test/v1/status/404"
        $failure = { Invoke-YcRestMethod -Uri $uri -OAuthToken $OAuth @At } | Should -Throw -PassThru
        $failure.Exception | Should -BeOfType [YcIam.YcIamException]
        $failure.Exception.StatusCode | Should -Be 404
        $failure.Exception.StatusName | Should -Be 'HTTP_ERROR'
        $failure.Exception.RequestId | Should -Not -BeNullOrEmpty
        $failure.Exception.Message | Should -BeLike '*HTTP 404*Requested status 404*'
        $failure.Exception.Message | Should -BeLike "*request id $($failure.Exception.RequestId)*"
        ($failure.Exception.ResponseBody | ConvertFrom-Json).code | Should -Be 5
        $failure.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failure.TargetObject | Should -Be $uri
        $failure.FullyQualifiedErrorId | Should -Be 'YcIam.HTTP_ERROR,Invoke-YcRestMethod'
    }

    It 'fails on an HTML 502 from a proxy with an excerpt, not a JSON error' {
        Add-FakeFault echo 1 @{ kind = 'html'; status = 502 }
        $failure = { Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -Method POST -OAuthToken $OAuth @At } | Should -Throw -PassThru
        $failure.Exception.StatusCode | Should -Be 502
        $failure.Exception.Message | Should -BeLike '*HTTP 502*Bad Gateway*'
        $failure.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
    }

    It 'fails with AuthenticationError for a refused IAM token' {
        $failure = { Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -IamToken 't1.not-a.token' @At } | Should -Throw -PassThru
        $failure.Exception.StatusCode | Should -Be 401
        $failure.CategoryInfo.Category | Should -Be 'AuthenticationError'
    }
}

Describe 'Get-YcCloud' {
    It 'writes every cloud of every page' {
        Reset-Fake
        $clouds = @(Get-YcCloud -OAuthToken $OAuth @At)
        $clouds.Count | Should -Be 250
        @($clouds.id | Sort-Object -Unique).Count | Should -Be 250
        $clouds[0].name | Should -Be 'cloud-0001'
        $clouds[0].id | Should -Match '^b1g'
        Get-FakeCount list_clouds | Should -Be 3
    }

    It 'follows -PageSize' {
        Reset-Fake
        @(Get-YcCloud -OAuthToken $OAuth -PageSize 7 @At).Count | Should -Be 250
        Get-FakeCount list_clouds | Should -Be 36
    }

    It 'streams: Select-Object -First stops early' {
        @(Get-YcCloud -OAuthToken $OAuth -PageSize 10 @At | Select-Object -First 3).Count | Should -Be 3
    }

    It 'takes an IAM token, as in the documented flow' {
        $IAM_TOKEN = Get-IamToken -OAuthToken $OAuth @TokenAt
        @(Get-YcCloud -IamToken $IAM_TOKEN @At).Count | Should -Be 250
    }

    It 'fails with the status for a refused IAM token' {
        $failure = { Get-YcCloud -IamToken 't1.not-a.token' @At } | Should -Throw -PassThru
        $failure.Exception.StatusCode | Should -Be 401
        $failure.Exception.Message | Should -BeLike '*Token is invalid or has expired*'
        $failure.CategoryInfo.Category | Should -Be 'AuthenticationError'
    }
}

Describe 'Revoke-IamToken' {
    It 'revokes a token, which then stops working' {
        $token = Get-IamToken -OAuthToken $OAuth -NoCache @TokenAt
        (Revoke-IamToken -IamToken $token @TokenAt).SubjectId | Should -Not -BeNullOrEmpty
        $failure = { Invoke-YcRestMethod -Uri "$Https/test/v1/echo" -IamToken $token @At } | Should -Throw -PassThru
        $failure.Exception.StatusCode | Should -Be 401
    }

    It 'takes tokens and -Detailed objects from the pipeline' {
        $secure = Get-IamToken -OAuthToken $OAuth -NoCache -AsSecureString @TokenAt
        @($secure | Revoke-IamToken @TokenAt).Count | Should -Be 1
        (Get-IamToken -OAuthToken $OAuth -NoCache -Detailed @TokenAt | Revoke-IamToken @TokenAt).SubjectId |
            Should -Not -BeNullOrEmpty
    }

    It 'revokes nothing with -WhatIf' {
        $token = Get-IamToken -OAuthToken $OAuth -NoCache @TokenAt
        Reset-Fake
        Revoke-IamToken -IamToken $token -WhatIf @TokenAt | Should -BeNullOrEmpty
        Get-FakeCount revoke | Should -Be 0
    }

    It 'fails for a token that is not valid' {
        $failure = { Revoke-IamToken -IamToken 't1.not-a.token' @TokenAt } | Should -Throw -PassThru
        $failure.Exception | Should -BeOfType [YcIam.YcIamException]
        $failure.Exception.Message | Should -Not -BeNullOrEmpty
    }
}

Describe 'The PowerShell scripts' {
    It 'Get-IamToken.ps1 prints the IAM token, as the documented Invoke-RestMethod flow' {
        $script = Join-Path $Repo (Join-Path 'scripts' 'Get-IamToken.ps1')
        & $script -OAuthToken $OAuth -Uri "$Https/iam/v1/tokens" -CaFile $CaFile | Should -Match '^t1\.'
    }

    It 'Get-IamToken.ps1 takes YC_OAUTH_TOKEN' {
        $saved = $env:YC_OAUTH_TOKEN
        try {
            $env:YC_OAUTH_TOKEN = $OAuth
            & (Join-Path $Repo (Join-Path 'scripts' 'Get-IamToken.ps1')) -IamEndpoint $Https -CaFile $CaFile | Should -Match '^t1\.'
        }
        finally {
            $env:YC_OAUTH_TOKEN = $saved
        }
    }

    It 'Get-YcCloud.ps1 lists every cloud, or prints the documented JSON' {
        $script = Join-Path $Repo (Join-Path 'scripts' 'Get-YcCloud.ps1')
        $IAM_TOKEN = Get-IamToken -OAuthToken $OAuth @TokenAt
        @(& $script -IamToken $IAM_TOKEN -Uri "$Https/resource-manager/v1/clouds" -CaFile $CaFile).Count | Should -Be 250
        $json = & $script -IamToken $IAM_TOKEN -ResourceManagerEndpoint $Https -CaFile $CaFile -AsJson | ConvertFrom-Json
        @($json.clouds).Count | Should -Be 250
    }

    It '<_> has help with examples' -ForEach @('Get-IamToken.ps1', 'Get-YcCloud.ps1') {
        $help = Get-Help (Join-Path $Repo (Join-Path 'scripts' $_)) -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
    }
}
