/// A message the decoder accepted: its envelope and its typed body.
public enum DecodedMessage: Sendable, Equatable {
    case jobSubmission(JobSubmission, Envelope)
    case jobControl(JobControlRequest, Envelope)
    case task(TaskMessage, Envelope)
    case result(ResultMessage, Envelope)
    case event(FleetEvent, Envelope)

    public var envelope: Envelope {
        switch self {
        case .jobSubmission(_, let e), .jobControl(_, let e), .task(_, let e), .result(_, let e), .event(_, let e): e
        }
    }
}
