print("flowgen")
