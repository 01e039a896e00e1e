// Whisper
