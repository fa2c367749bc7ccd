import Foundation

/// A Markdown page under docs/, read by the tests that hold it to the code.
public struct DocsPage: Sendable {
    public static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")

    public let url: URL
    public let text: String

    public init(_ name: String) throws {
        url = Self.docs.appendingPathComponent(name)
        text = try String(contentsOf: url, encoding: .utf8)
    }

    /// The contents of every fenced block with this info string (```json, ```sh...), in order.
    public func blocks(_ fence: String, in text: String? = nil) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in (text ?? self.text).split(separator: "\n", omittingEmptySubsequences: false) {
            if let lines = current {
                if line == "```" {
                    blocks.append(lines.joined(separator: "\n") + "\n")
                    current = nil
                } else {
                    current = lines + [line]
                }
            } else if line == "```" + fence {
                current = []
            }
        }
        return blocks
    }

    /// docs/integrating.md's walkthrough: every ```sh block between its
    /// `begin follow-job.sh` and `end follow-job.sh` markers, in order, as one script.
    public func script(named name: String) throws -> String {
        guard let start = text.range(of: "<!-- begin \(name)"), let end = text.range(of: "<!-- end \(name)"),
              start.upperBound < end.lowerBound else {
            throw CommandFailed(description: "\(url.lastPathComponent) has no begin/end markers for \(name)")
        }
        let blocks = blocks("sh", in: String(text[start.upperBound..<end.lowerBound]))
        guard !blocks.isEmpty else { throw CommandFailed(description: "no sh blocks for \(name)") }
        return blocks.joined(separator: "\n")
    }
}
