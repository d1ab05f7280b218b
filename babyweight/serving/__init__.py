"""The REST server (TF Serving's API), its web page, the model store and the serving log."""
