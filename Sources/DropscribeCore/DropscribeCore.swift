// DropscribeCore
