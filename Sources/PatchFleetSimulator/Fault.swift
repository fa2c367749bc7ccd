import PatchFleetCore

/// A fault to inject into the simulated datacenter. Flat with a `kind` so a
/// fault schedule reads naturally in YAML next to the inventory.
public struct Fault: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The VM's next `times` migrations (live and quick) fail.
        case migrationFails
        /// The host's next `times` installs fail with `code`.
        case installFails
        /// After every reboot the host still reports a pending reboot.
        case stuckPendingReboot
        /// The host's next reboot leaves it down for good.
        case hostDoesNotReturn
        /// At `atSeconds` after the start (virtual seconds, scaled by the time
        /// scale like every duration), someone moves the VM to `to`.
        case vmMovedByOthers
        /// At `atSeconds` after the start, someone deletes the VM.
        case vmDeleted
        /// The next `times` calls about `host` (or any host) hang and time out, doing nothing.
        case backendTimeout
        /// Every answer about `host` comes `extraSeconds` late.
        case slowResponses
        /// The next `times` host-level actions on `host` (enter/exit
        /// maintenance, deploy, reboot) take effect but their answer is lost:
        /// the caller sees a timeout. Applies to `perform`, the worker path.
        case answerLost
    }

    public var kind: Kind
    public var host: String?
    public var vm: String?
    public var to: String?
    public var code: String?
    public var message: String?
    public var times: Int?
    public var atSeconds: Double?
    public var extraSeconds: Double?

    public init(_ kind: Kind, host: String? = nil, vm: String? = nil, to: String? = nil, code: String? = nil,
                message: String? = nil, times: Int? = nil, atSeconds: Double? = nil, extraSeconds: Double? = nil) {
        self.kind = kind
        self.host = host
        self.vm = vm
        self.to = to
        self.code = code
        self.message = message
        self.times = times
        self.atSeconds = atSeconds
        self.extraSeconds = extraSeconds
    }
}

/// A fault with its remaining uses.
struct ArmedFault: Sendable, Hashable {
    var fault: Fault
    var remaining: Int

    init(_ fault: Fault) {
        self.fault = fault
        remaining = fault.times ?? 1
    }
}
