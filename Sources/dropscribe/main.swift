print("dropscribe")
