import DropscribeCore
import Foundation
import Logging
import Transcripts
import Whisper

/// Builds the production transcriber from the configuration.
enum Transcribers {
    static func whisper(config: Configuration, logger: Logger) throws -> WhisperTranscriber {
        try whisper(config: config, model: loadModel(config: config, logger: logger))
    }

    /// Loads the model of a job's configuration (`ModelSettings` says which).
    static func loadModel(config: Configuration, logger: Logger) throws -> WhisperModel {
        let path: String
        do { path = try config.modelFolder() } catch { throw CommandFailure.config("\(error)") }
        let threads = config.effectiveThreads
        let computeType = config.model.computeType
        let started = Date()
        let model: WhisperModel
        do {
            model = try WhisperModel.load(directory: path, threads: threads, computeType: computeType)
        } catch {
            throw CommandFailure.config("model: \(error)")
        }
        if let note = model.computeTypeNote { logger.warning("\(note)") }
        // At info: which kernels run (the CPU's level or DROPSCRIBE_CPU's) belongs in every start log.
        logger.info("model loaded", metadata: ["model": "\(path)", "load.s": "\(String(format: "%.3f", Date().timeIntervalSince(started)))",
                                               "threads": "\(threads)", "compute_type": "\(model.computeType.rawValue)",
                                               "kernels": "\(model.kernelLevel)", "cpu": "\(KernelLevel.detected)"])
        return model
    }

    /// A transcriber for one job: its rule's decoding options, formats and VAD on a loaded model.
    static func whisper(config: Configuration, model: WhisperModel) throws -> WhisperTranscriber {
        do { try model.checkLanguage(config.model.decodingOptions.language) } catch {
            throw CommandFailure.config("model.language: \(error)")
        }
        var transcriber = WhisperTranscriber(model: model, options: config.model.decodingOptions, formats: config.formats,
                                             modelName: (model.directory as NSString).lastPathComponent)
        transcriber.allowPlaylists = config.media.allowPlaylists
        transcriber.batchSize = config.vad.batchSize
        do { transcriber.speechDetection = try SpeechDetection.load(config) } catch {
            throw CommandFailure.config("vad.model: \(error)")
        }
        return transcriber
    }
}

/// The model a serving worker keeps between jobs, reloaded when a job's `ModelSettings` differ.
final class LoadedModelCache {
    private var settings: ModelSettings?
    private var model: WhisperModel?

    /// The transcriber for a job, and whether its model was already loaded.
    func transcriber(config: Configuration, logger: Logger) throws -> (any Transcriber, reused: Bool) {
        let want = ModelSettings(config)
        if let model, settings == want { return (try Transcribers.whisper(config: config, model: model), true) }
        // Free the old model before loading the next: a worker never holds two.
        model = nil
        settings = nil
        let fresh = try Transcribers.loadModel(config: config, logger: logger)
        model = fresh
        settings = want
        return (try Transcribers.whisper(config: config, model: fresh), false)
    }
}
