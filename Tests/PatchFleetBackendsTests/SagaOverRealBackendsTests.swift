import Foundation
import PatchFleetCore
import Synchronization
import Testing
@testable import PatchFleetBackends
import PatchFleetWorker

/// The real host saga (`HostSaga.reduce`) and the worker's command executor
/// patch one clustered host over
/// VMMBackend + ConfigMgrBackend, the fake ssh replaying a stateful VMM
/// server and ConfigMgr site server.
@Suite("Host saga over VMM + ConfigMgr")
struct SagaOverRealBackendsTests {
    static let updates = ["KB5031364", "KB5032198"]

    /// The replayed VMM and ConfigMgr servers of one clustered host's patch
    /// cycle, and a worker's executor over them on a virtual clock.
    static func patchCycle() throws -> (FakeSSH, VMMBackend, VirtualSeconds, CommandExecutor) {
        let fake = try FakeSSH(rulesFile: "patch-cycle.rules.json")
        let vmm = VMMBackend(runner: fake.runner(.test("vmm01.contoso.com.\(UUID().uuidString.prefix(4))")), polling: .fast)
        let cm = ConfigMgrBackend(siteServer: fake.runner(.test("cm01.contoso.com.\(UUID().uuidString.prefix(4))")), siteCode: "PS1")
        let clock = VirtualSeconds(1_800_000_000)
        let executor = CommandExecutor(virtualization: vmm, updates: cm,
                                       timing: ExecutorTiming(now: { clock.now }, sleep: { clock.advance($0) }, pollSeconds: 30))
        return (fake, vmm, clock, executor)
    }

    /// A deploy asked again (a redelivery, a retry) leaves membership to
    /// ConfigMgr, which checks the rule and the membership by ResourceID:
    /// the collection's member list names devices by NetBIOS name, and
    /// another domain's HV01 in it would pass for our hv01.contoso.com.
    @Test func aDeployAskedAgainLeavesMembershipToConfigMgr() async throws {
        let (fake, _, clock, executor) = try Self.patchCycle()
        let deploy = SagaCommand(sagaId: "nov:hv01.contoso.com", jobId: "nov", host: "hv01.contoso.com", cluster: "CL44.contoso.com",
                                 sagaVersion: 1, issuedAt: clock.instant,
                                 body: .deployUpdates(DeployRequest(host: "hv01.contoso.com", collection: "Patch Wave 1", updateIds: Self.updates)))
        for _ in 0..<2 {
            let answer = await executor.execute(deploy)
            #expect(answer == .updatesDeployed, "\(answer)")
        }
        let bodies = try fake.bodies()
        #expect(!bodies.contains { $0.contains("ForEach-Object { [string]$_.Name }") }, "no member list by name")
        let adds = bodies.filter { $0.contains("Add-CMDeviceCollectionDirectMembershipRule") }
        #expect(adds.count == 2 && adds.allSatisfy { $0.contains("if (-not $rule -and -not $member) {") })
    }

    @Test func sagaPatchesTheHostEndToEnd() async throws {
        let (fake, vmm, clock, executor) = try Self.patchCycle()

        var state = HostSagaState(jobId: "nov", target: TargetHost(host: "hv01.contoso.com", cluster: "CL44.contoso.com"),
                                  policy: Policy(), updateIds: Self.updates, deploymentCollection: "Patch Wave 1")
        var queue = [SagaEvent.control(state.sagaId, at: clock.instant, .start)]
        var issued: [String] = []
        while !queue.isEmpty && issued.count < 200 {
            let (next, commands) = HostSaga.reduce(state, queue.removeFirst())
            state = next
            for command in commands {
                issued.append(command.body.kind.rawValue)
                if case .wakeAt(let wake) = command.body {
                    clock.advance(to: wake.at.secondsSinceEpoch)
                    queue.append(.answer(to: command, at: clock.instant, .timerFired))
                } else {
                    let answer = await executor.execute(command)
                    if case .commandFailed(let failure) = answer { Issue.record("\(command.body.kind): \(failure)") }
                    queue.append(.answer(to: command, at: clock.instant, answer))
                }
            }
        }

        #expect(state.isDone)
        #expect(state.outcome?.kind == .patched, "\(String(describing: state.outcome)) \(state.notes)")
        #expect(issued.contains("rebootHost") && issued.contains("failbackVM"))
        #expect(try await vmm.listVMs(host: "hv01.contoso.com").map(\.name) == ["web01", "db01"])  // home again
        #expect(try await vmm.host(named: "hv01.contoso.com").status == .up)

        // Maintenance is asked for twice: while VMs still run the VMM host is
        // only cordoned (a Disable-SCVMHost then would save them); once the
        // drain is verified the host is empty and goes into VMM maintenance
        // mode proper, before the reboot. No running VM is ever saved.
        let bodies = try fake.bodies()
        // Every cluster observation is one PowerShell session (hosts and their
        // VMs together), never the two-query fallback.
        #expect(bodies.contains { $0.contains("vms = @(if ($pfOnHosts.Count -gt 0) { Get-SCVirtualMachine -VMMServer $pfVmm -All") })
        #expect(!bodies.contains { $0.contains("Get-SCVMHost -VMHostCluster $c | ForEach-Object { PF-Host $_ }") })
        #expect(!bodies.contains { $0.contains("-SaveState") })
        let cordon = bodies.firstIndex { $0.contains("-AvailableForPlacement $false") }
        let maintenance = bodies.firstIndex { $0.contains("Disable-SCVMHost") }
        let reboot = bodies.firstIndex { $0.contains("Restart-Computer -ComputerName 'hv01.contoso.com' -Protocol WSMan -Force") }
        #expect(cordon != nil && maintenance != nil && reboot != nil, "cordon \(String(describing: cordon)), maintenance \(String(describing: maintenance)), reboot \(String(describing: reboot))")
        if let cordon, let maintenance, let reboot {
            #expect(cordon < maintenance && maintenance < reboot, "cordon, then maintenance mode on the empty host, then the reboot")
            let moves = bodies.indices.filter { bodies[$0].contains("Move-SCVirtualMachine") && $0 < reboot }
            #expect(!moves.isEmpty && moves.allSatisfy { $0 < maintenance }, "every move out happens before maintenance mode")
        }
        #expect(bodies.contains { $0.contains("-AvailableForPlacement $true") })
        #expect(bodies.contains { $0.contains("Restart-Computer -ComputerName 'hv01.contoso.com' -Protocol WSMan -Force") })
    }
}

/// Backend time for the executor's waits: sleeping moves it, nothing blocks.
final class VirtualSeconds: Sendable {
    private let value: Mutex<Double>
    init(_ start: Double) { value = Mutex(start) }
    var now: Double { value.withLock { $0 } }
    var instant: Instant { Instant(secondsSinceEpoch: now) }
    func advance(_ seconds: Double) { value.withLock { $0 += max(0, seconds) } }
    func advance(to seconds: Double) { value.withLock { $0 = max($0, seconds) } }
}
