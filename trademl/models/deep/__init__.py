"""Deep sequence models (PyTorch): windows of bars in, scikit-learn estimators out.

Kinds ``lstm``, ``gru``, ``tcn``, ``transformer``, ``cnn_lstm_attention`` and ``hybrid``
are built from a spec like ``lightgbm``. Importing this package does not import torch;
each model imports it when it is fitted.
"""

from trademl.models.deep._base import SequenceModel
from trademl.models.deep.cnn_lstm_attention import CNNLSTMAttentionModel
from trademl.models.deep.gru import GRUModel
from trademl.models.deep.hybrid import HybridModel
from trademl.models.deep.lstm import LSTMModel
from trademl.models.deep.tcn import TCNModel
from trademl.models.deep.transformer import TransformerModel

__all__ = [
    "CNNLSTMAttentionModel",
    "GRUModel",
    "HybridModel",
    "LSTMModel",
    "SequenceModel",
    "TCNModel",
    "TransformerModel",
]
