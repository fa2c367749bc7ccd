/// The message schemas PatchFleet puts on the wire. The name travels in the
/// body (`schema`) and in the AMQP `type` property; the version in the body
/// (`schemaVersion`) and in the `x-pf-schema-version` header.
public enum MessageSchema: String, Sendable, CaseIterable, Codable {
    case jobSubmit = "patchfleet.job.submit"
    case jobControl = "patchfleet.job.control"
    case task = "patchfleet.task"
    case result = "patchfleet.result"
    case event = "patchfleet.event"
    case jobQuery = "patchfleet.job.query"
    case jobStatus = "patchfleet.job.status"

    /// Every message but a question about all jobs (and its answer) belongs
    /// to one job and must name it.
    public var isJobScoped: Bool { self != .jobQuery && self != .jobStatus }

    /// The versions this build reads. A version bump means a change an old
    /// reader would misread; readers refuse what is not listed here rather
    /// than guess (an ignored field in a patch run is a silent wrong action).
    public var supportedVersions: [Int] { [1] }

    /// The version this build writes.
    public var currentVersion: Int { 1 }
}

/// A schema name with a version, as carried by one message.
public struct SchemaID: Sendable, Hashable, CustomStringConvertible {
    public var schema: MessageSchema
    public var version: Int

    public init(_ schema: MessageSchema, version: Int? = nil) {
        self.schema = schema
        self.version = version ?? schema.currentVersion
    }

    public var description: String { "\(schema.rawValue) v\(version)" }
}
