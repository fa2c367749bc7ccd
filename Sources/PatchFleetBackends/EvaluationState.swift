/// CCM_SoftwareUpdate.EvaluationState (root\ccm\ClientSDK), as documented
/// for the ConfigMgr client SDK.
public enum EvaluationState: Int, Sendable, CaseIterable {
    case none = 0, available = 1, submitted = 2, detecting = 3, preDownload = 4, downloading = 5
    case waitInstall = 6, installing = 7, pendingSoftReboot = 8, pendingHardReboot = 9, waitReboot = 10
    case verifying = 11, installComplete = 12, error = 13, waitServiceWindow = 14, waitUserLogon = 15
    case waitUserLogoff = 16, waitJobUserLogon = 17, waitUserReconnect = 18, pendingUserLogoff = 19
    case pendingUpdate = 20, waitingRetry = 21, waitPresModeOff = 22, waitForOrchestration = 23

    public enum Meaning: Sendable, Equatable {
        /// Not installed yet: nothing started, or still on its way.
        case pending
        /// Installed; a restart completes it.
        case installedPendingReboot
        case installed
        case failed
    }

    public var meaning: Meaning {
        switch self {
        case .pendingSoftReboot, .pendingHardReboot, .waitReboot: .installedPendingReboot
        case .installComplete: .installed
        case .error: .failed
        default: .pending
        }
    }

    /// States from which InstallUpdates starts (or retries) an install;
    /// any other state is already in progress or done.
    public var installable: Bool { self == .none || self == .available || self == .error || self == .waitingRetry }
}
