"""Sentence prediction (paper Table 2 NLP1): Penn Treebank loader, recurrent language models
(a traditional LSTM family and a width-nested anytime LSTM), training, and word-by-word inference
under sentence-wide deadlines. ``alert.nlp.data`` needs numpy only; the rest needs PyTorch."""

# the shipped sentence family: three traditional LSTMs and the width-nested anytime one
FAMILY = ("ptb-lstm-32", "ptb-lstm-64", "ptb-lstm-128", "ptb-nested")
