/// A message the decoder accepted: its envelope and its typed body.
public enum DecodedMessage: Sendable, Equatable {
    case jobSubmission(JobSubmission, Envelope)
    case jobControl(JobControlRequest, Envelope)
    case task(TaskMessage, Envelope)
    case result(ResultMessage, Envelope)
    case event(FleetEvent, Envelope)
    case jobQuery(JobQuery, Envelope)
    case jobStatus(JobStatusReply, Envelope)

    public var envelope: Envelope {
        switch self {
        case .jobSubmission(_, let e), .jobControl(_, let e), .task(_, let e), .result(_, let e), .event(_, let e),
             .jobQuery(_, let e), .jobStatus(_, let e): e
        }
    }
}
