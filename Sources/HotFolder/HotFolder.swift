// HotFolder
