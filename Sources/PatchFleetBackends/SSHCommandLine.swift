/// The argv and environment of one `ssh` call. Pure, so tests can assert
/// that no secret ever reaches the command line.
struct SSHCommandLine: Sendable, Hashable {
    var arguments: [String]
    var environment: [String: String]
    /// Script text to feed on stdin (long scripts), or nil for /dev/null.
    var stdin: String?

    /// Windows' cmd.exe (OpenSSH's default shell) truncates command lines at
    /// 8191 characters; longer scripts go through the stdin bootstrap.
    static let maxEncodedCommandLength = 7000

    static func build(target: SSHTarget, script: String, askPassPath: String?) -> SSHCommandLine {
        var args = ["-T", "-o", "ConnectTimeout=\(target.connectTimeoutSeconds)",
                    "-o", "StrictHostKeyChecking=\(target.hostKeyChecking.rawValue)",
                    "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
                    "-o", "LogLevel=ERROR"]
        var env: [String: String] = [:]
        if let known = target.knownHostsFile { args += ["-o", "UserKnownHostsFile=\(known)"] }
        if let port = target.port { args += ["-p", String(port)] }
        if let passwordFile = target.passwordFile {
            // BatchMode=yes would forbid the askpass prompt, so password
            // authentication runs with BatchMode=no and exactly one prompt,
            // answered by the askpass helper reading the file.
            args += ["-o", "BatchMode=no", "-o", "PubkeyAuthentication=no",
                     "-o", "PreferredAuthentications=password,keyboard-interactive",
                     "-o", "NumberOfPasswordPrompts=1"]
            if let askPassPath { env["SSH_ASKPASS"] = askPassPath }
            env["SSH_ASKPASS_REQUIRE"] = "force"
            env["DISPLAY"] = env["DISPLAY"] ?? "patchfleet:0"
            env[AskPass.fileVariable] = passwordFile
        } else {
            args += ["-o", "BatchMode=yes"]
            if let identity = target.identityFile { args += ["-i", identity, "-o", "IdentitiesOnly=yes"] }
        }
        args += ["-l", target.user, "--", target.host]
        let encoded = PowerShellScript.encode(script)
        let fits = encoded.count <= maxEncodedCommandLength
        let command = fits ? encoded : PowerShellScript.encode(PowerShellScript.stdinBootstrap)
        args += ["powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", command]
        return SSHCommandLine(arguments: args, environment: env, stdin: fits ? nil : script)
    }
}
