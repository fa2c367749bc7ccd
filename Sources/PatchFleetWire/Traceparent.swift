/// A W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/):
/// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. Carried in the
/// `traceparent` header so a job can be followed across the coordinator,
/// the workers and any tracing system that speaks the standard.
public struct Traceparent: Sendable, Hashable, CustomStringConvertible {
    /// 32 lowercase hex digits, not all zero.
    public let traceId: String
    /// 16 lowercase hex digits, not all zero: the span that sent the message.
    public let parentId: String
    /// Bit 0 is "sampled".
    public let flags: UInt8

    /// Parses a header value; the error says which part is wrong.
    public init(parsing text: String) throws(WireError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        func bad(_ reason: String) -> WireError {
            .invalidHeader(name: EnvelopeHeader.traceparent, reason: "'\(text.prefix(80))' \(reason)")
        }
        guard parts.count == 4 else { throw bad("must be version-traceid-parentid-flags") }
        // Version ff is forbidden; higher versions may append fields, which we
        // do not read, so only 00 is accepted (never guess a format).
        guard parts[0] == "00" else { throw bad("has version \(parts[0]); only 00 is supported") }
        guard Self.isHex(parts[1], length: 32) else { throw bad("trace id must be 32 lowercase hex digits") }
        guard Self.isHex(parts[2], length: 16) else { throw bad("parent id must be 16 lowercase hex digits") }
        guard Self.isHex(parts[3], length: 2), let flags = UInt8(parts[3], radix: 16) else {
            throw bad("flags must be 2 lowercase hex digits")
        }
        guard parts[1].contains(where: { $0 != "0" }) else { throw bad("trace id is all zeros") }
        guard parts[2].contains(where: { $0 != "0" }) else { throw bad("parent id is all zeros") }
        self.traceId = parts[1]
        self.parentId = parts[2]
        self.flags = flags
    }

    /// Starts a new trace (a job submitted without one).
    public static func random<G: RandomNumberGenerator>(sampled: Bool = true, using generator: inout G) -> Traceparent {
        Traceparent(traceId: hex(nonZeroBytes(16, &generator)), parentId: hex(nonZeroBytes(8, &generator)),
                    flags: sampled ? 1 : 0)
    }

    public static func random(sampled: Bool = true) -> Traceparent {
        var generator = SystemRandomNumberGenerator()
        return random(sampled: sampled, using: &generator)
    }

    /// The same trace, a new span: what a message caused by this one carries.
    public func child<G: RandomNumberGenerator>(using generator: inout G) -> Traceparent {
        Traceparent(traceId: traceId, parentId: Self.hex(Self.nonZeroBytes(8, &generator)), flags: flags)
    }

    public func child() -> Traceparent {
        var generator = SystemRandomNumberGenerator()
        return child(using: &generator)
    }

    public var sampled: Bool { flags & 1 == 1 }

    public var description: String {
        "00-\(traceId)-\(parentId)-\(Self.hex([flags]))"
    }

    private init(traceId: String, parentId: String, flags: UInt8) {
        self.traceId = traceId
        self.parentId = parentId
        self.flags = flags
    }

    private static func isHex(_ s: String, length: Int) -> Bool {
        s.utf8.count == length && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// All-zero ids are invalid by the standard; redraw (odds 2^-64 at worst).
    /// Eight bytes per draw: one draw per byte was a `getrandom` call each
    /// with the system generator, 24 per message published (3 % of the
    /// coordinator's CPU in `patchfleet-bench fleet`).
    private static func nonZeroBytes<G: RandomNumberGenerator>(_ count: Int, _ generator: inout G) -> [UInt8] {
        while true {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count)
            while bytes.count < count {
                var word = generator.next()
                for _ in 0 ..< min(8, count - bytes.count) {
                    bytes.append(UInt8(truncatingIfNeeded: word))
                    word >>= 8
                }
            }
            if bytes.contains(where: { $0 != 0 }) { return bytes }
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            digits.withUTF8Buffer { digits in
                for (index, byte) in bytes.enumerated() {
                    buffer[2 * index] = digits[Int(byte >> 4)]
                    buffer[2 * index + 1] = digits[Int(byte & 0x0f)]
                }
            }
            return bytes.count * 2
        }
    }
}
