// swift-tools-version: 6.2
import PackageDescription

// Every target gets the same strictness: Swift 6 language mode plus the
// upcoming features the Swift server ecosystem (swift-nio, hummingbird) uses,
// and no warnings (an error in this package's own targets; SwiftPM does not apply
// a package's warning settings to its dependencies, so theirs stay warnings).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "dropscribe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dropscribe", targets: ["dropscribe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C interop: module maps and shims only (CLinuxShims: HotFolder's syscalls, DropscribeCore's sd_notify).
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswresample-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CLinuxShims", cSettings: [.define("_GNU_SOURCE")]),
        // OpenBLAS's kernels re-selected at start when it took a new CPU for an old one (executable only).
        .target(name: "CBLASCore", dependencies: ["CBLAS", "CKernels"]),

        // FFmpeg wrapped: any audio/video in, 16 kHz mono Float out, streamed.
        .target(name: "MediaDecoding", dependencies: [
            "CFFmpeg",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A software prefetch for WhisperKernels (an inline C function Swift cannot spell).
        .target(name: "CPrefetch"),
        // The decoder's small-batch products, exp, softmax and GELU built for AVX2/FMA; called only on CPUs that have them.
        .target(name: "WhisperKernels", dependencies: ["CPrefetch"], swiftSettings: [.unsafeFlags(["-target-cpu", "haswell"])]),
        // int8 and bfloat16 matrix products with one version per instruction set (chosen at
        // run time); optimised even in debug builds, where -O0 intrinsics run 10x slower.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // The Whisper engine: model loading, features, encoder, decoder, tokenizer, decoding.
        .target(name: "Whisper", dependencies: [
            "CBLAS", "CKernels", "CZlib", "WhisperKernels",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Silero VAD v6 in Swift: its ONNX weights read directly, speech probabilities and timestamps as faster-whisper computes them.
        .target(name: "VoiceActivity", dependencies: ["CBLAS", "CFFmpeg", "Whisper", "WhisperKernels"]),
        // The folder as a queue: markers, claims, leases, journal, watcher, recovery.
        .target(name: "HotFolder", dependencies: [
            "CLinuxShims",
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Models by name: faster-whisper's catalog, resumable verified downloads from the Hugging Face Hub.
        .target(name: "ModelStore", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Transcript value types and the txt/srt/vtt/tsv/json writers.
        .target(name: "Transcripts"),
        // The job pipeline and the daemon's services, wiring the pieces above.
        .target(name: "DropscribeCore", dependencies: [
            "CLinuxShims", "HotFolder", "MediaDecoding", "ModelStore", "Whisper", "Transcripts", "VoiceActivity",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "dropscribe", dependencies: [
            "CBLASCore", "DropscribeCore", "HotFolder", "MediaDecoding", "ModelStore", "Whisper", "Transcripts", "VoiceActivity",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),

        .testTarget(name: "MediaDecodingTests",
                    dependencies: ["MediaDecoding", .product(name: "Crypto", package: "swift-crypto")],
                    exclude: ["Golden", "make-pyav-goldens.py"]),
        .testTarget(name: "WhisperTests", dependencies: ["Whisper", "MediaDecoding", .product(name: "Crypto", package: "swift-crypto")],
                    exclude: ["Golden", "make-random-models.py", "make-random-model-goldens.py", "random-models.sha256"]),
        .testTarget(name: "VoiceActivityTests", dependencies: ["VoiceActivity"],
                    exclude: ["Golden", "make-vad-goldens.py"]),
        .testTarget(name: "HotFolderTests", dependencies: [
            "HotFolder", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .testTarget(name: "ModelStoreTests", dependencies: [
            "ModelStore", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "TranscriptsTests", dependencies: ["Transcripts"], exclude: ["Oracle"]),
        .testTarget(name: "DropscribeTests", dependencies: [
            "CBLASCore", "DropscribeCore", "HotFolder", "Transcripts", "Whisper", "VoiceActivity",
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + strictSettings
}

// The numeric hot loops (features, attention, resampling glue) are 10-50x slower
// unoptimised, which would make the parity tests crawl; optimise these two
// modules even in debug builds (the other modules stay fast to compile).
for target in package.targets where ["Whisper", "WhisperKernels", "MediaDecoding", "VoiceActivity", "WhisperTests"].contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-O"], .when(configuration: .debug))]
}
