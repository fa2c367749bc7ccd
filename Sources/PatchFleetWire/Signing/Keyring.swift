import Foundation
import Yams

/// The signing keys of a fleet, from a small YAML (or JSON) file that every
/// coordinator and worker is given; the secrets themselves live in files of
/// their own (Kubernetes Secrets, mode 0600), never in this file's text:
///
/// ```yaml
/// signing: k2026-11          # the key new messages are signed with
/// keys:
///   - id: k2026-11
///     secretFile: /run/secrets/patchfleet-k2026-11   # base64 of >= 32 random bytes
///   - id: k2026-10
///     secretFile: /run/secrets/patchfleet-k2026-10
///     retired: true          # its messages are refused from now on
/// ```
///
/// Rotation: add the new key everywhere (it verifies at once), switch
/// `signing` to it, and once no message signed with the old key can still
/// be in flight (the longest task deadline), mark the old one retired.
public enum Keyring {
    struct File: Decodable {
        struct Entry: Decodable {
            var id: String
            var secretFile: String
            var retired: Bool?
        }
        var signing: String
        var keys: [Entry]
    }

    public static func load(path: String) throws(SigningError) -> MessageSigner {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SigningError("cannot read the keyring \(path): \(error.localizedDescription)")
        }
        let file: File
        do { file = try YAMLDecoder().decode(File.self, from: text) } catch {
            throw SigningError("the keyring \(path) is not valid: \(error)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        var keys: [MessageSigner.Key] = []
        for entry in file.keys {
            let secretPath = entry.secretFile.hasPrefix("/") ? entry.secretFile : base.appendingPathComponent(entry.secretFile).path
            let encoded: String
            do { encoded = try String(contentsOfFile: secretPath, encoding: .utf8) } catch {
                throw SigningError("cannot read the secret of key '\(entry.id)' (\(secretPath)): \(error.localizedDescription)")
            }
            guard let secret = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw SigningError("the secret of key '\(entry.id)' (\(secretPath)) is not base64")
            }
            keys.append(try MessageSigner.Key(id: entry.id, secret: secret, retired: entry.retired ?? false))
        }
        return try MessageSigner(keys: keys, signingKeyId: file.signing)
    }

    /// A new random secret, base64: what `patchfleet keygen` writes.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }
}
