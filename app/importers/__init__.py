"""Importers: models from other frameworks' files onto app.nn.Graph (ONNX: `import_onnx`)."""

from app.importers.errors import (
    ExternalDataRefused,
    InvalidModel,
    ModelImportError,
    ModelTooLarge,
    UnsupportedOperator,
)
from app.importers.onnx import import_onnx

__all__ = [
    "ExternalDataRefused", "InvalidModel", "ModelImportError", "ModelTooLarge",
    "UnsupportedOperator", "import_onnx",
]
