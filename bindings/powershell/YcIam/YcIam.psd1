@{
    RootModule           = 'YcIam.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '395cefa2-9bdd-4aaa-ab11-4b4cc01a57f8'
    Author               = 'yciam contributors'
    CompanyName          = 'yciam'
    Copyright            = '(c) yciam contributors. MIT OR Apache-2.0.'
    Description          = 'Get Yandex Cloud IAM tokens and make authorized Yandex Cloud API calls. A thin layer over the yciam native library: tokens are cached and renewed well before they expire.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')

    FunctionsToExport    = @(
        'Get-IamToken'
        'Invoke-YcRestMethod'
        'Get-YcCloud'
        'Revoke-IamToken'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags       = @('YandexCloud', 'Yandex', 'IAM', 'Token', 'Authentication', 'Windows', 'Linux', 'MacOS')
            LicenseUri = 'https://opensource.org/license/mit'
        }
    }
}
