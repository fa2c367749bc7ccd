import Foundation
import PatchFleetProgress

/// What standard output is: a terminal (bars) or not (plain lines), how
/// wide, and whether colours are wanted.
struct TerminalFacts {
    var isInteractive: Bool
    var columns: Int
    var color: Bool

    static func standardOutput(environment: [String: String] = ProcessInfo.processInfo.environment) -> TerminalFacts {
        let dumb = environment["TERM"] == "dumb"
        // https://no-color.org: present and not empty means no colour.
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        return TerminalFacts(isInteractive: isatty(STDOUT_FILENO) == 1 && !dumb, columns: columns(environment),
                             color: !noColor && !dumb)
    }

    /// The window's width from the terminal itself, else $COLUMNS, else 80.
    /// (A pseudo-terminal nobody sized, as under `script`, answers 0.)
    static func columns(_ environment: [String: String]) -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }
}

/// Redraws a block of lines in place at the bottom of the terminal: moves
/// the cursor back to the block's first line, clears to the end of the
/// screen, prints any lines that should stay (they scroll up above the
/// block), then the block again.
struct TerminalScreen {
    var frame: ProgressFrame
    private var drawn = 0

    init(frame: ProgressFrame) { self.frame = frame }

    mutating func draw(_ block: [String], above: [String]) {
        var out = drawn > 0 ? "\u{1B}[\(drawn)F\u{1B}[J" : ""
        for line in above { out += line + "\n" }
        for line in block { out += line + "\n" }
        drawn = block.count
        // Through stdio like every other line, so nothing is reordered.
        print(out, terminator: "")
        fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
    }
}
