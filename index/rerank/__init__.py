"""citebot's answer reranker: a cross-encoder that reads the question with each candidate
sentence (in its context) and says how well the sentence answers it.

Trained here from public data (train/), shipped in `weights/` as an int8 ONNX model with its
tokenizer and model card, and run with onnxruntime alone: nothing is downloaded.
"""
