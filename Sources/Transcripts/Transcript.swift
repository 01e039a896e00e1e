/// A finished transcription of one audio file, in the shape openai-whisper's
/// `transcribe()` returns it.
///
/// The `Whisper` engine target has its own result types, shaped for decoding.
/// The daemon maps those to `Transcript` so that the writers in this module
/// (txt, srt, vtt, tsv, json) depend on nothing but plain values: they can be
/// built and tested without the engine, and the engine can change its
/// internals without touching the output formats.
public struct Transcript: Sendable, Codable, Equatable {
    /// Language code as Whisper reports it, e.g. `"en"`.
    public var language: String
    /// Probability the language detector gave `language` (1.0 when it was forced).
    public var languageProbability: Double
    /// Length of the transcribed audio, in seconds.
    public var duration: Double
    /// The segments, in time order.
    public var segments: [Segment]

    public init(language: String, languageProbability: Double, duration: Double, segments: [Segment]) {
        self.language = language
        self.languageProbability = languageProbability
        self.duration = duration
        self.segments = segments
    }

    /// The whole transcript: the segments' texts concatenated as they are
    /// (each keeps Whisper's leading space), like openai-whisper's `result["text"]`.
    public var text: String {
        segments.map(\.text).joined()
    }

    enum CodingKeys: String, CodingKey {
        case language
        case languageProbability = "language_probability"
        case duration
        case segments
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        language = try c.decode(String.self, forKey: .language)
        languageProbability = try c.decodeNumber(forKey: .languageProbability)
        duration = try c.decodeNumber(forKey: .duration)
        segments = try c.decode([Segment].self, forKey: .segments)
    }

    /// One decoded window of speech, with openai-whisper's segment fields.
    ///
    /// Exists for the same reason as `Transcript`: the writers need the
    /// segment data without depending on the engine's own segment type.
    public struct Segment: Sendable, Codable, Equatable {
        /// Index of the segment within the transcript (0-based, like Whisper's).
        public var id: Int
        /// Offset, in mel frames, of the 30-second window this segment was decoded from.
        public var seek: Int
        /// Start time in seconds.
        public var start: Double
        /// End time in seconds.
        public var end: Double
        /// The text, with Whisper's leading space (writers strip it where Whisper does).
        public var text: String
        /// Token ids of the text.
        public var tokens: [Int]
        /// Sampling temperature of the decode that produced this segment.
        public var temperature: Double
        /// Average log probability of the tokens.
        public var avgLogprob: Double
        /// gzip compression ratio of the text (Whisper's repetition check).
        public var compressionRatio: Double
        /// Probability of the no-speech token at the start of the window.
        public var noSpeechProb: Double
        /// Word timings; `nil` when word timestamps were not requested.
        public var words: [Word]?

        public init(
            id: Int, seek: Int, start: Double, end: Double, text: String, tokens: [Int],
            temperature: Double, avgLogprob: Double, compressionRatio: Double,
            noSpeechProb: Double, words: [Word]? = nil
        ) {
            self.id = id
            self.seek = seek
            self.start = start
            self.end = end
            self.text = text
            self.tokens = tokens
            self.temperature = temperature
            self.avgLogprob = avgLogprob
            self.compressionRatio = compressionRatio
            self.noSpeechProb = noSpeechProb
            self.words = words
        }

        enum CodingKeys: String, CodingKey {
            case id, seek, start, end, text, tokens, temperature
            case avgLogprob = "avg_logprob"
            case compressionRatio = "compression_ratio"
            case noSpeechProb = "no_speech_prob"
            case words
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(Int.self, forKey: .id)
            seek = try c.decode(Int.self, forKey: .seek)
            start = try c.decodeNumber(forKey: .start)
            end = try c.decodeNumber(forKey: .end)
            text = try c.decode(String.self, forKey: .text)
            tokens = try c.decode([Int].self, forKey: .tokens)
            temperature = try c.decodeNumber(forKey: .temperature)
            avgLogprob = try c.decodeNumber(forKey: .avgLogprob)
            compressionRatio = try c.decodeNumber(forKey: .compressionRatio)
            noSpeechProb = try c.decodeNumber(forKey: .noSpeechProb)
            words = try c.decodeIfPresent([Word].self, forKey: .words)
        }
    }

    /// One word's timing within a segment (word-timestamp mode).
    ///
    /// Mirrors openai-whisper's word dicts so the writers can build
    /// word-level subtitles without depending on the engine's types.
    public struct Word: Sendable, Codable, Equatable {
        /// Start time in seconds.
        public var start: Double
        /// End time in seconds.
        public var end: Double
        /// The word as decoded, usually with a leading space.
        public var word: String
        /// Probability of the word's tokens.
        public var probability: Double

        public init(start: Double, end: Double, word: String, probability: Double) {
            self.start = start
            self.end = end
            self.word = word
            self.probability = probability
        }

        enum CodingKeys: String, CodingKey {
            case start, end, word, probability
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            start = try c.decodeNumber(forKey: .start)
            end = try c.decodeNumber(forKey: .end)
            word = try c.decode(String.self, forKey: .word)
            probability = try c.decodeNumber(forKey: .probability)
        }
    }
}

extension KeyedDecodingContainer {
    /// A required number; `null` (how the JSON writer spells NaN and the
    /// infinities, which JSON cannot express) reads back as NaN.
    fileprivate func decodeNumber(forKey key: Key) throws -> Double {
        guard contains(key) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "missing number \"\(key.stringValue)\""))
        }
        return try decodeNil(forKey: key) ? .nan : decode(Double.self, forKey: key)
    }
}
