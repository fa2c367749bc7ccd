import ArgumentParser
import Foundation
import Logging
import PatchFleetObservability
#if canImport(Glibc)
import Glibc
#endif

/// Runs a process's main service with its side services (HTTP endpoint,
/// broker-readiness follower, dashboard feeds) next to it. The main service
/// decides the process's life: when it returns, `stopSides` ends the ones
/// that wait on the broker and the rest are cancelled.
func runWithSideServices(_ main: @escaping @Sendable () async throws -> Void,
                         sides: [@Sendable () async throws -> Void],
                         stopSides: @escaping @Sendable () async -> Void = {}) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await main()
            return true
        }
        for side in sides {
            group.addTask {
                try await side()
                return false
            }
        }
        while let mainEnded = try await group.next() {
            if mainEnded { break }
        }
        await stopSides()
        group.cancelAll()
    }
}

/// Whether something already listens on `address`: checked before the
/// process starts its work, so a taken port chosen by a person stops the
/// start with its reason, and a taken default is skipped with a warning
/// (several coordinators of tests or demos on one machine).
func portIsFree(_ address: HTTPAddress) -> Bool {
    guard address.port != 0 else { return true }
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(address.host, String(address.port), &hints, &result) == 0, let info = result else { return false }
    defer { freeaddrinfo(result) }
    let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    return bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
}

/// The HTTP endpoint to serve, or nil: a taken default is skipped (warned),
/// a taken chosen address is an error.
func usableAddress(_ resolved: (HTTPAddress, chosen: Bool)?, logger: Logger) throws -> (HTTPAddress, chosen: Bool)? {
    guard let (address, chosen) = resolved else { return nil }
    if portIsFree(address) { return (address, chosen) }
    if chosen { throw ValidationError("--http-address \(address): cannot listen there (in use, or not an address of this machine)") }
    logger.warning("\(address) is in use: no dashboard, metrics or probes from this process (give --http-address)")
    return nil
}

/// The HTTP server as a side service. The default address can still be
/// lost between the check above and the bind (several coordinators of a
/// test run or a demo starting at once): then the process goes on without
/// it, since patching never waits on a port. An address a person chose that
/// fails stops the process with the reason.
func httpSideService(_ server: ObservabilityServer, chosen: Bool, logger: Logger,
                     onListening: @escaping @Sendable (Int) async -> Void) -> @Sendable () async throws -> Void {
    {
        do { try await server.run(onListening: onListening) } catch where !chosen && !(error is CancellationError) {
            logger.warning("\(server.address) could not be served (\(error)): no dashboard, metrics or probes from this process")
        }
    }
}
