/// Which container formats an untrusted input may be opened as.
///
/// Some demuxers read other files named inside the input: playlists (hls, dash),
/// concat lists, image sequences, composition playlists, disc folders, or run
/// scripts. A file dropped into the inbox could then make the decoder read any
/// file the daemon can (a segment naming /home/someone/secret.wav); they are
/// refused unless the configuration allows them (`[media] allow_playlists`).
public enum InputFormatPolicy {
    /// The demuxers that open other files (or streams) named by the input's content.
    public static let referencingFormats: Set<String> = [
        "hls", "applehttp", "dash", "concat", "image2", "imf", "dvdvideo",
        "avisynth", "vapoursynth", "sdp", "rtp", "rtsp", "lavfi", "webm_dash_manifest",
    ]

    /// Whether the demuxer `formatName` (libav's name, possibly a comma-separated
    /// list of aliases such as "mov,mp4,m4a") must be refused.
    public static func refuses(formatName: String, allowPlaylists: Bool) -> Bool {
        if allowPlaylists { return false }
        return formatName.split(separator: ",").contains { referencingFormats.contains(String($0)) }
    }
}
