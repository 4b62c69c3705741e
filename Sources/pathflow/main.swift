print("pathflow")
