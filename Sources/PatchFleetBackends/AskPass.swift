#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Password authentication without the password on a command line or in the
/// environment: ssh runs SSH_ASKPASS (forced by SSH_ASKPASS_REQUIRE=force,
/// OpenSSH 8.4+) and reads the password from its stdout. The helper is a
/// two-line shell script that prints the first line of the file named by
/// PATCHFLEET_SSH_PASSWORD_FILE; only that path travels in the environment.
enum AskPass {
    static let fileVariable = "PATCHFLEET_SSH_PASSWORD_FILE"

    static let script = """
    #!/bin/sh
    IFS= read -r line < "$PATCHFLEET_SSH_PASSWORD_FILE" && printf '%s\\n' "$line"
    """

    private static let installed = Mutex<String?>(nil)

    /// Writes the helper once per process into a private (0700) directory.
    /// Written through an O_CLOEXEC descriptor: a write descriptor inherited
    /// by a concurrently spawned ssh would make exec of the helper fail with
    /// ETXTBSY.
    static func install() throws -> String {
        try installed.withLock { path in
            if let path { return path }
            let dir = FileManager.default.temporaryDirectory
                .appendingPathComponent("patchfleet-askpass-\(getpid())-\(UUID().uuidString.prefix(8))", isDirectory: true)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let file = dir.appendingPathComponent("askpass.sh").path
            let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o700)
            guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            let bytes = Array(script.utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == bytes.count else { throw POSIXError(.EIO) }
            path = file
            return file
        }
    }
}
