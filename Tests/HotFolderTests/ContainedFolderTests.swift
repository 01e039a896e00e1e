import Foundation
import SystemPackage
import Testing
@testable import HotFolder

@Suite struct ContainedFolderTests {
    /// A root folder `out` and a folder `elsewhere` beside it that no write may reach.
    func setUp(_ folder: TestFolder) throws -> (ContainedFolder, String) {
        try FileManager.default.createDirectory(atPath: folder.path + "/out", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder.path + "/elsewhere", withIntermediateDirectories: true)
        return (ContainedFolder(root: FilePath(folder.path + "/out")), folder.path + "/elsewhere")
    }

    func contents(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    @Test func createsANestedPathAndWritesTheFile() throws {
        let folder = TestFolder()
        let (contained, _) = try setUp(folder)
        let written = try contained.write(Array("hello".utf8), to: ["a", "b", "c"], name: "talk.txt")
        #expect(written == FilePath(folder.path + "/out/a/b/c/talk.txt"))
        #expect(try String(contentsOfFile: written.string, encoding: .utf8) == "hello")
        // Writing again replaces the file and leaves no temp file behind.
        try contained.write(Array("again".utf8), to: ["a", "b", "c"], name: "talk.txt")
        #expect(try String(contentsOfFile: written.string, encoding: .utf8) == "again")
        #expect(contents(folder.path + "/out/a/b/c") == ["talk.txt"])
    }

    @Test(arguments: [0, 1, 2])
    func refusesASymlinkAnywhereOnThePath(depth: Int) throws {
        let folder = TestFolder()
        let (contained, elsewhere) = try setUp(folder)
        let components = ["a", "b", "c"]
        let real = folder.path + "/out/" + components.prefix(depth).joined(separator: "/")
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        let link = real + (depth == 0 ? "" : "/") + components[depth]
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: elsewhere)
        // The rest of the path exists beyond the link, so only the link itself stands in the way.
        try FileManager.default.createDirectory(atPath: elsewhere + "/" + components.dropFirst(depth + 1).joined(separator: "/"),
                                                withIntermediateDirectories: true)

        #expect(throws: ContainmentError.symlink(path: FilePath(link))) {
            try contained.write(Array("x".utf8), to: components, name: "talk.txt")
        }
        #expect(throws: ContainmentError.symlink(path: FilePath(link))) { try contained.refuseUnsafe(components) }
        let source = folder.write("inbox/talk.wav")
        #expect(throws: ContainmentError.symlink(path: FilePath(link))) {
            try contained.moveIn(FilePath(source), to: components, name: "talk.wav")
        }
        #expect(FileManager.default.fileExists(atPath: source), "a refused move leaves the source where it was")
        let leaked = FileManager.default.enumerator(atPath: elsewhere)?.compactMap { $0 as? String }.filter { $0.hasSuffix("talk.txt") || $0.hasSuffix("talk.wav") }
        #expect(leaked == [])
    }

    @Test func refusesAFileWhereAFolderShouldBeAndNamesThatAreNotOneComponent() throws {
        let folder = TestFolder()
        let (contained, _) = try setUp(folder)
        folder.write("out/a", "not a folder")
        #expect(throws: ContainmentError.notAFolder(path: FilePath(folder.path + "/out/a"))) {
            try contained.write(Array("x".utf8), to: ["a", "b"], name: "talk.txt")
        }
        #expect(throws: ContainmentError.invalidName(folder: FilePath(folder.path + "/out"), name: "..")) {
            try contained.write(Array("x".utf8), to: ["..", "elsewhere"], name: "talk.txt")
        }
        #expect(throws: ContainmentError.invalidName(folder: FilePath(folder.path + "/out/b"), name: "../x")) {
            try contained.write(Array("x".utf8), to: ["b"], name: "../x")
        }
    }

    @Test func aFinalSymlinkIsReplacedNotFollowed() throws {
        let folder = TestFolder()
        let (contained, elsewhere) = try setUp(folder)
        try FileManager.default.createDirectory(atPath: folder.path + "/out/a", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/out/a/talk.txt", withDestinationPath: elsewhere + "/target.txt")
        try contained.write(Array("mine".utf8), to: ["a"], name: "talk.txt")
        #expect(contents(elsewhere) == [])
        #expect(try String(contentsOfFile: folder.path + "/out/a/talk.txt", encoding: .utf8) == "mine")
    }

    @Test func refuseUnsafeAcceptsMissingFoldersAndCreatesNothing() throws {
        let folder = TestFolder()
        let (contained, _) = try setUp(folder)
        try contained.refuseUnsafe(["new", "deeper"])
        #expect(contents(folder.path + "/out") == [])
    }

    @Test func movesASourceInNeverOverAnExistingFile() throws {
        let folder = TestFolder()
        let (contained, _) = try setUp(folder)
        let source = folder.write("inbox/sub/talk.wav", "audio")
        let target = try contained.moveIn(FilePath(source), to: ["sub"], name: "talk.wav")
        #expect(target == FilePath(folder.path + "/out/sub/talk.wav"))
        #expect(!FileManager.default.fileExists(atPath: source))
        let second = folder.write("inbox/sub/talk.wav", "newer")
        #expect(throws: ContainmentError.system(path: target, .fileExists)) {
            try contained.moveIn(FilePath(second), to: ["sub"], name: "talk.wav")
        }
        #expect(try String(contentsOfFile: target.string, encoding: .utf8) == "audio")
    }
}
