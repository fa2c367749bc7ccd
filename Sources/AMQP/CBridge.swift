import CRabbitMQ
import Foundation

/// Owns the C memory behind the `amqp_bytes_t` and `amqp_table_t` values handed
/// to librabbitmq for one call. librabbitmq copies what it sends, so everything
/// is freed together when the call returns.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit { for p in allocations { free(p) } }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let p = malloc(max(size, 1))!
        allocations.append(p)
        return p
    }

    func bytes(_ string: String) -> amqp_bytes_t {
        var utf8 = string.utf8CString  // NUL-terminated, so it is also a C string
        let count = utf8.count - 1
        let p = allocate(count + 1)
        utf8.withUnsafeMutableBytes { src in p.copyMemory(from: src.baseAddress!, byteCount: count + 1) }
        return amqp_bytes_t(len: count, bytes: p)
    }

    func bytes(_ data: [UInt8]) -> amqp_bytes_t {
        let p = allocate(data.count)
        data.withUnsafeBytes { src in if let base = src.baseAddress { p.copyMemory(from: base, byteCount: data.count) } }
        return amqp_bytes_t(len: data.count, bytes: p)
    }

    func table(_ table: AMQPFieldTable) -> amqp_table_t {
        guard !table.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let entries = allocate(MemoryLayout<amqp_table_entry_t>.stride * table.count)
            .bindMemory(to: amqp_table_entry_t.self, capacity: table.count)
        for (i, entry) in table.entries.enumerated() {
            entries[i] = amqp_table_entry_t(key: bytes(entry.key), value: fieldValue(entry.value))
        }
        return amqp_table_t(num_entries: Int32(table.count), entries: entries)
    }

    func fieldValue(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var v = amqp_field_value_t()
        func kind(_ c: Character) { v.kind = c.asciiValue! }
        switch value {
        case .bool(let b): kind("t"); v.value.boolean = b ? 1 : 0
        case .int8(let x): kind("b"); v.value.i8 = x
        case .uint8(let x): kind("B"); v.value.u8 = x
        case .int16(let x): kind("s"); v.value.i16 = x
        case .uint16(let x): kind("u"); v.value.u16 = x
        case .int32(let x): kind("I"); v.value.i32 = x
        case .uint32(let x): kind("i"); v.value.u32 = x
        case .int64(let x): kind("l"); v.value.i64 = x
        case .float(let x): kind("f"); v.value.f32 = x
        case .double(let x): kind("d"); v.value.f64 = x
        case let .decimal(decimals, raw): kind("D"); v.value.decimal = amqp_decimal_t(decimals: decimals, value: raw)
        case .string(let s): kind("S"); v.value.bytes = bytes(s)
        case .bytes(let b): kind("x"); v.value.bytes = bytes(b)
        case .timestamp(let t): kind("T"); v.value.u64 = t
        case .table(let t): kind("F"); v.value.table = table(t)
        case .void: kind("V")
        case .array(let items):
            kind("A")
            let p = allocate(MemoryLayout<amqp_field_value_t>.stride * max(items.count, 1))
                .bindMemory(to: amqp_field_value_t.self, capacity: max(items.count, 1))
            for (i, item) in items.enumerated() { p[i] = fieldValue(item) }
            v.value.array = amqp_array_t(num_entries: Int32(items.count), entries: items.isEmpty ? nil : p)
        }
        return v
    }

    /// The C form of `properties`; strings live as long as the arena.
    func properties(_ p: AMQPProperties) -> amqp_basic_properties_t {
        var c = amqp_basic_properties_t()
        var flags: UInt32 = 0
        if let v = p.contentType { c.content_type = bytes(v); flags |= 1 << 15 }
        if let v = p.contentEncoding { c.content_encoding = bytes(v); flags |= 1 << 14 }
        if let v = p.headers { c.headers = table(v); flags |= 1 << 13 }
        if let v = p.deliveryMode { c.delivery_mode = v.rawValue; flags |= 1 << 12 }
        if let v = p.priority { c.priority = v; flags |= 1 << 11 }
        if let v = p.correlationId { c.correlation_id = bytes(v); flags |= 1 << 10 }
        if let v = p.replyTo { c.reply_to = bytes(v); flags |= 1 << 9 }
        if let v = p.expiration { c.expiration = bytes(v); flags |= 1 << 8 }
        if let v = p.messageId { c.message_id = bytes(v); flags |= 1 << 7 }
        if let v = p.timestamp { c.timestamp = v; flags |= 1 << 6 }
        if let v = p.type { c.type = bytes(v); flags |= 1 << 5 }
        if let v = p.userId { c.user_id = bytes(v); flags |= 1 << 4 }
        if let v = p.appId { c.app_id = bytes(v); flags |= 1 << 3 }
        c._flags = flags
        return c
    }
}

// MARK: - C to Swift

extension amqp_bytes_t {
    var string: String {
        guard len > 0, let bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: len), as: UTF8.self)
    }

    var byteArray: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    var data: Data {
        guard len > 0, let bytes else { return Data() }
        return Data(bytes: bytes, count: len)
    }
}

extension AMQPFieldTable {
    /// Tables and arrays nested deeper than this arrive as
    /// `AMQPFieldValue.tooDeep`: no header PatchFleet or a sane peer writes
    /// comes near it, and a forged one nested thousands deep must not
    /// recurse through this process (it then fails validation or is carried
    /// on, marked, with the rest of its message).
    public static let maximumNesting = 32

    init(_ c: amqp_table_t, depth: Int = 0) {
        var entries: [(key: String, value: AMQPFieldValue)] = []
        entries.reserveCapacity(Int(c.num_entries))
        for i in 0..<Int(c.num_entries) {
            let e = c.entries[i]
            entries.append((key: e.key.string, value: AMQPFieldValue(e.value, depth: depth + 1)))
        }
        self.init(entries)
    }
}

extension AMQPFieldValue {
    /// What stands in for a table or array nested deeper than
    /// `AMQPFieldTable.maximumNesting`.
    public static let tooDeep = AMQPFieldValue.string("[nested deeper than \(AMQPFieldTable.maximumNesting) levels: left out]")

    init(_ c: amqp_field_value_t, depth: Int = 0) {
        let kind = Character(UnicodeScalar(c.kind))
        if (kind == "F" || kind == "A") && depth > AMQPFieldTable.maximumNesting {
            self = .tooDeep
            return
        }
        switch kind {
        case "t": self = .bool(c.value.boolean != 0)
        case "b": self = .int8(c.value.i8)
        case "B": self = .uint8(c.value.u8)
        case "s": self = .int16(c.value.i16)
        case "u": self = .uint16(c.value.u16)
        case "I": self = .int32(c.value.i32)
        case "i": self = .uint32(c.value.u32)
        case "l": self = .int64(c.value.i64)
        case "L": self = .int64(Int64(bitPattern: c.value.u64))
        case "f": self = .float(c.value.f32)
        case "d": self = .double(c.value.f64)
        case "D": self = .decimal(decimals: c.value.decimal.decimals, value: c.value.decimal.value)
        case "S": self = .string(c.value.bytes.string)
        case "x": self = .bytes(c.value.bytes.byteArray)
        case "T": self = .timestamp(c.value.u64)
        case "F": self = .table(AMQPFieldTable(c.value.table, depth: depth))
        case "A":
            let a = c.value.array
            self = .array((0..<Int(a.num_entries)).map { AMQPFieldValue(a.entries[$0], depth: depth + 1) })
        default: self = .void
        }
    }
}

extension AMQPProperties {
    init(_ c: amqp_basic_properties_t) {
        self.init()
        let f = c._flags
        func has(_ bit: UInt32) -> Bool { f & (1 << bit) != 0 }
        if has(15) { contentType = c.content_type.string }
        if has(14) { contentEncoding = c.content_encoding.string }
        if has(13) { headers = AMQPFieldTable(c.headers) }
        if has(12) { deliveryMode = DeliveryMode(rawValue: c.delivery_mode) }
        if has(11) { priority = c.priority }
        if has(10) { correlationId = c.correlation_id.string }
        if has(9) { replyTo = c.reply_to.string }
        if has(8) { expiration = c.expiration.string }
        if has(7) { messageId = c.message_id.string }
        if has(6) { timestamp = c.timestamp }
        if has(5) { type = c.type.string }
        if has(4) { userId = c.user_id.string }
        if has(3) { appId = c.app_id.string }
    }
}

/// AMQP method ids (class << 16 | method) that the event loop dispatches on.
/// Spelled out because Swift does not import librabbitmq's cast macros.
enum AMQPMethod {
    static let connectionClose: UInt32 = 0x000A_0032
    static let connectionCloseOk: UInt32 = 0x000A_0033
    static let connectionBlocked: UInt32 = 0x000A_003C
    static let connectionUnblocked: UInt32 = 0x000A_003D
    static let channelClose: UInt32 = 0x0014_0028
    static let channelCloseOk: UInt32 = 0x0014_0029
    static let basicCancel: UInt32 = 0x003C_001E
    static let basicReturn: UInt32 = 0x003C_0032
    static let basicDeliver: UInt32 = 0x003C_003C
    static let basicAck: UInt32 = 0x003C_0050
    static let basicNack: UInt32 = 0x003C_0078
}

enum AMQPFrameType {
    static let method: UInt8 = 1
    static let header: UInt8 = 2
    static let body: UInt8 = 3
}

/// librabbitmq's description of a status code.
func libraryErrorString(_ status: Int32) -> String {
    String(cString: amqp_error_string2(status))
}
