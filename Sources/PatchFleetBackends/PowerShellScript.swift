import Foundation

/// A generated script: a body wrapped in the envelope every call shares.
///
/// The envelope makes every error terminating (`$ErrorActionPreference =
/// 'Stop'`), captures the body's output in a try/catch and prints exactly one
/// JSON line, `{"ok":true,"result":...}` or `{"ok":false,"error":{...}}`, so
/// the runner never has to interpret free text. Bodies are built only from
/// constant text and `PowerShellLiteral` values.
public struct PowerShellScript: Sendable, Hashable {
    public enum ResultShape: Sendable, Hashable {
        /// The body's output as a JSON array (even for zero or one object).
        case list
        /// The body's last output object (or null).
        case single
    }

    public var body: String
    public var shape: ResultShape
    /// Extra prelude lines (module imports, Set-Location) run inside the try.
    public var setup: [String]

    public init(body: String, shape: ResultShape = .single, setup: [String] = []) {
        self.body = body
        self.shape = shape
        self.setup = setup
    }

    /// The complete text sent to powershell.exe.
    public var text: String {
        let capture = shape == .list ? "@(& {\n\(body)\n})" : "& {\n\(body)\n} | Select-Object -Last 1"
        return """
        \(Self.prelude)
        try {
        \(setup.joined(separator: "\n"))
        $pfResult = \(capture)
        $pfOut = [ordered]@{ ok = $true; result = $pfResult }
        } catch {
        $pfOut = [ordered]@{ ok = $false; error = (ConvertTo-PFError $_) }
        }
        $pfBytes = [System.Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -InputObject $pfOut -Depth 8 -Compress) + [char]10)
        $pfStdout = [Console]::OpenStandardOutput()
        $pfStdout.Write($pfBytes, 0, $pfBytes.Length)
        $pfStdout.Flush()
        """
    }

    /// Shared helpers. Kept short: the whole script travels in the command line.
    /// The reply is written as UTF-8 bytes straight to the stdout stream, so
    /// the console code page (OEM under sshd) never mangles a VM name, and
    /// setting [Console]::OutputEncoding (which can throw without a console)
    /// is not needed.
    static let prelude = """
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    $WarningPreference = 'SilentlyContinue'
    # PS 5.1 serializes arrays wrapped in PSObject as {"value":[..],"Count":n}.
    Remove-TypeData -TypeName System.Array -ErrorAction SilentlyContinue
    function PF-Fail([string]$Code, [string]$Message, [string]$Target) {
    $ex = New-Object System.Exception $Message
    $ex.Data['PatchFleetCode'] = $Code
    throw (New-Object System.Management.Automation.ErrorRecord $ex, ('PatchFleet.' + $Code), 'NotSpecified', $Target)
    }
    function PF-Date($d) { if ($null -eq $d) { $null } else { ([datetime]$d).ToUniversalTime().ToString('o') } }
    function ConvertTo-PFError($e) {
    $x = $e.Exception
    [ordered]@{
    message = [string]$x.Message
    category = [string]$e.CategoryInfo.Category
    target = [string]$e.TargetObject
    type = $x.GetType().FullName
    errorId = [string]$e.FullyQualifiedErrorId
    code = [string]$x.Data['PatchFleetCode']
    hresult = ('0x{0:X8}' -f $x.HResult)
    }
    }
    """

    /// The argument of `powershell -EncodedCommand`: base64 of UTF-16LE.
    public static func encode(_ script: String) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(script.utf16.count * 2)
        for unit in script.utf16 {
            bytes.append(UInt8(unit & 0xFF))
            bytes.append(UInt8(unit >> 8))
        }
        return Data(bytes).base64EncodedString()
    }

    /// For a script too long for a command line: a constant bootstrap that
    /// reads the real script from stdin as raw UTF-8 bytes (no console
    /// decoding) and runs it.
    static let stdinBootstrap = """
    $ErrorActionPreference = 'Stop'
    $pfIn = New-Object System.IO.MemoryStream
    [Console]::OpenStandardInput().CopyTo($pfIn)
    . ([scriptblock]::Create([System.Text.Encoding]::UTF8.GetString($pfIn.ToArray())))
    """
}
