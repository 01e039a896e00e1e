// MediaDecoding
