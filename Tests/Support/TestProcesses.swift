import Foundation
@_exported import PatchFleetSupervisor

/// The `patchfleet` executable in the build products directory (the test
/// bundle sits beside it); tests that run real processes use it.
public func patchfleetExecutable() -> String {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("patchfleet").path), url.path != "/" {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("patchfleet").path
}

public func eventuallyTrue(within seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

public struct CommandFailed: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs a command to completion; returns its output, or throws with it if
/// the command failed. The wait happens off the cooperative pool.
public func runCommand(_ argv: [String], environment: [String: String] = [:]) async throws -> String {
    let child = try ChildProcess(argv[0], Array(argv.dropFirst()), log: "cmd", environment: environment)
    let status = await child.exitStatus()
    let output = child.output()
    unlink(child.logPath)
    guard status == 0 else {
        throw CommandFailed(description: "\(argv.joined(separator: " ")) failed (\(status)): \(output)")
    }
    return output
}

/// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick),
/// for a process under test to serve on.
public func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket() failed")
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    precondition(bound == 0, "bind() failed")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
