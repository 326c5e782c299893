import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// The first-boot keys: SSH key shapes, the user_data host check, and the user-data partctl makes.
@Suite struct FirstBootTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host"

    @Test func aRealKeyIsAccepted() {
        #expect(LparProfile.sshKeyProblem(Self.key) == nil)
        #expect(LparProfile.sshKeyProblem("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl") == nil)
    }

    @Test func base64IsStrict() {
        #expect(Base64Text.decode("aGVsbG8=") == Array("hello".utf8))
        #expect(Base64Text.decode("aGVsbG8") == nil)
        #expect(Base64Text.decode("aGV=bG8=") == nil)
        #expect(Base64Text.decode("aGVs bG8=") == nil)
    }

    @Test func userDataMustBeAPlainFileReachedWithoutSymlinks() throws {
        let fixture = try ProfileFixture()
        let real = try fixture.write("cloud", "#cloud-config\n")
        let link = fixture.path("link.yaml")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        #expect(ProfileHostPath.plainFileProblem(real) == nil)
        #expect(ProfileHostPath.plainFileProblem(link)?.contains("symbolic link") == true)
        #expect(ProfileHostPath.plainFileProblem(fixture.directory)?.contains("not a regular file") == true)
        #expect(ProfileHostPath.plainFileProblem(fixture.path("none"))?.contains("does not exist") == true)
        // Through the profile: the host check names the key.
        let profile = LparProfile(memory: ResourceRange(min: .mebibytes(128), desired: .mebibytes(128), max: .mebibytes(128)),
                                  processors: ResourceRange(min: 1, desired: 1, max: 1), boot: BootSpec(kernel: "/k"), userData: link)
        let problem = try #require(profile.hostPathProblems().first)
        #expect(problem.message.contains("user_data") && problem.message.contains("symbolic link"))
    }

    @Test func ownCloudConfigAlone() throws {
        let text = try CloudConfigMerge.userData(hostname: "db1", keys: [Self.key], userText: nil)
        #expect(text.hasPrefix("#cloud-config\n"))
        #expect(text == "#cloud-config\nhostname: db1\npreserve_hostname: false\ndisable_root: false\nssh_authorized_keys:\n- \(Self.key)\n")
    }

    @Test func aCloudConfigFileIsMergedKeepingItsOwnValues() throws {
        let user = "#cloud-config\nruncmd:\n  - [touch, /root/x]\nssh_authorized_keys:\n  - ssh-rsa AAAB theirs\nhostname: theirs\n"
        let text = try CloudConfigMerge.userData(hostname: "db1", keys: [Self.key], userText: user)
        #expect(text == """
            #cloud-config
            runcmd:
            - - touch
              - /root/x
            ssh_authorized_keys:
            - ssh-rsa AAAB theirs
            - \(Self.key)
            hostname: db1
            preserve_hostname: false
            disable_root: false

            """)
    }

    @Test func aScriptBecomesASecondMimePart() throws {
        let script = "#!/bin/sh\necho hi > /root/hi\n"
        let text = try CloudConfigMerge.userData(hostname: "db1", keys: [], userText: script)
        #expect(text.hasPrefix("Content-Type: multipart/mixed; boundary=\""))
        #expect(text.contains("Content-Type: text/cloud-config") && text.contains("Content-Type: text/x-shellscript"))
        #expect(text.contains(script))
        #expect(text.hasSuffix("--\n"))
    }

    @Test func otherUserDataIsRefused() {
        #expect(throws: PartitionError.self) { try CloudConfigMerge.userData(hostname: nil, keys: [], userText: "plain text\n") }
        #expect(throws: PartitionError.self) { try CloudConfigMerge.userData(hostname: nil, keys: [], userText: "#cloud-config\n- a list\n") }
        #expect(throws: PartitionError.self) { try CloudConfigMerge.userData(hostname: nil, keys: [], userText: "#cloud-config\nkey: [unclosed\n") }
    }

    @Test func aStoredProfileWithoutTheKeysStillReads() throws {
        let profile = LparProfile(memory: ResourceRange(min: .mebibytes(128), desired: .mebibytes(128), max: .mebibytes(128)),
                                  processors: ResourceRange(min: 1, desired: 1, max: 1), boot: BootSpec(kernel: "/k"))
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(profile)) as! [String: Any]
        object.removeValue(forKey: "sshAuthorizedKeys")
        let decoded = try JSONDecoder().decode(LparProfile.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded == profile)
    }
}
