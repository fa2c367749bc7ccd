import Foundation
import Testing
@testable import PatchFleetBackends

@Suite("PowerShell literals")
struct EscapingTests {
    @Test func plainAndQuoted() {
        #expect(PowerShellLiteral.quote("hv01") == "'hv01'")
        #expect(PowerShellLiteral.quote("O'Brien") == "'O''Brien'")
        #expect(PowerShellLiteral.quote("") == "''")
        #expect(PowerShellLiteral.quote("'") == "''''")
    }

    @Test func unicodeQuoteVariantsAreDoubled() {
        #expect(PowerShellLiteral.quote("a\u{2018}b\u{2019}c\u{201A}d\u{201B}e") == "'a\u{2018}\u{2018}b\u{2019}\u{2019}c\u{201A}\u{201A}d\u{201B}\u{201B}e'")
        // A quote carrying a combining mark is still a quote to PowerShell.
        #expect(PowerShellLiteral.quote("x'\u{301}y") == "'x''\u{301}y'")
    }

    @Test func expansionCharactersStayVerbatim() {
        #expect(PowerShellLiteral.quote("$(Remove-Item C:\\ -Recurse)") == "'$(Remove-Item C:\\ -Recurse)'")
        #expect(PowerShellLiteral.quote("a`nb;c\nd") == "'a`nb;c\nd'")
    }

    @Test func arraysAreAlwaysArrays() {
        #expect(PowerShellLiteral.array([]) == "@()")
        #expect(PowerShellLiteral.array(["KB1"]) == "@('KB1')")
        #expect(PowerShellLiteral.array(["a'b", "c"]) == "@('a''b','c')")
    }

    @Test(arguments: HostileNames.all)
    func lexerRoundTripsEveryHostileName(_ name: String) {
        let split = PowerShellLexer.split("Get-Thing -Name \(PowerShellLiteral.quote(name)) | Out-Null")
        #expect(split.literals == [name])
        #expect(split.skeleton == "Get-Thing -Name '?' | Out-Null")
    }
}

enum HostileNames {
    static let all: [String] = [
        "web01'; Remove-Item -Recurse C:\\; '",
        "$(Stop-Computer -Force)",
        "vm`$(calc)`",
        "a;b;Restart-Computer",
        "line1\nRestart-Computer -Force\n#",
        "x\u{2019}; Stop-Computer; \u{2018}",
        "q\u{201A}\u{201B}$env:USERNAME",
        "\"; Stop-Computer; \"",
        "@(1) | % { Stop-Computer }",
        "'",
        "''",
        "name'\r\n}) ; Stop-Computer #",
        "<# comment #> $null",
        "trailing quote'",
    ]
}
