@testable import DropscribeCore
import HotFolder
import Testing

/// What a resumed job makes of its journal: the checkpoints up to the first one that
/// cannot be decoded; that window and the ones after are transcribed again.
@Suite struct CheckpointJournalTests {
    static let head = #"{"globalMax":1.5,"language":"en","languageProbability":1,"segments":[],"totalSamples":480000}"#

    static func entry(_ window: Int, _ state: String) -> JournalEntry {
        JournalEntry(window: window, progress: 0, time: 0, state: state)
    }

    @Test func aReadableJournalGivesEveryCheckpoint() {
        let (checkpoints, undecodable) = WhisperTranscriber.checkpoints(in: [Self.entry(0, Self.head), Self.entry(1, Self.head)])
        #expect(checkpoints.count == 2)
        #expect(undecodable == nil)
    }

    @Test(arguments: ["{\"globalMax\": 1.5", "", "{\"globalMax\":\"high\"}"])
    func theJournalEndsAtTheFirstUndecodableCheckpoint(_ bad: String) throws {
        let journal = [Self.entry(0, Self.head), Self.entry(1, Self.head), Self.entry(2, bad), Self.entry(3, Self.head)]
        let (checkpoints, undecodable) = WhisperTranscriber.checkpoints(in: journal)
        #expect(checkpoints.count == 2, "the checkpoint after the bad one is not used either")
        #expect(checkpoints.first?.totalSamples == 480_000)
        #expect(try #require(undecodable).index == 2)
    }
}
