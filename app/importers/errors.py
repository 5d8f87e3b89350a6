"""Why an imported model was refused. Each error has a stable `code` (the API's error code)
and a message that names the problem; `details()` is the JSON-able rest."""

from __future__ import annotations

from typing import Any


class ModelImportError(ValueError):
    """A model that cannot be imported. `code` is the API error code."""

    code = "invalid_model"

    def details(self) -> dict[str, Any]:
        return {}


class InvalidModel(ModelImportError):
    """Not a readable ONNX model, or one whose structure ConvScope cannot use (several
    inputs or outputs, a non-float input, shapes that do not fit)."""

    code = "invalid_model"


class ExternalDataRefused(ModelImportError):
    """A tensor whose data lives in an external file: never read (only the uploaded bytes
    are parsed; onnx's loader has had path-traversal bugs with external data)."""

    code = "external_data"

    def __init__(self, tensor: str):
        self.tensor = tensor
        super().__init__(
            f"tensor {tensor!r} keeps its data in an external file; external data is refused: "
            "save the model with its weights inside the file (onnx.save_model(model, path, "
            "save_as_external_data=False))"
        )

    def details(self) -> dict[str, Any]:
        return {"tensor": self.tensor}


class ModelTooLarge(ModelImportError):
    """More nodes or parameters than the import's caps allow."""

    code = "model_too_large"

    def __init__(self, what: str, count: int, limit: int):
        self.what, self.count, self.limit = what, count, limit
        super().__init__(f"the model has {count:,} {what}; at most {limit:,} are accepted")

    def details(self) -> dict[str, Any]:
        return {"what": self.what, "count": self.count, "limit": self.limit}


class UnsupportedOperator(ModelImportError):
    """An operator (or an attribute value of one) that the importer does not map."""

    code = "unsupported_operator"

    def __init__(self, op_type: str, node: str, opset: int, supported: list[str],
                 reason: str | None = None, domain: str = ""):
        self.op_type, self.node, self.opset, self.reason = op_type, node, opset, reason
        self.domain = domain
        self.supported = sorted(supported)
        op = f"{domain}::{op_type}" if domain else op_type
        what = f"operator {op} (node {node!r}, opset {opset}) is not supported"
        if reason:
            what = f"operator {op} (node {node!r}, opset {opset}): {reason}"
        super().__init__(f"{what}; supported operators: {', '.join(self.supported)}")

    def details(self) -> dict[str, Any]:
        return {
            "op_type": self.op_type, "node": self.node, "opset": self.opset,
            "domain": self.domain, "reason": self.reason, "supported": self.supported,
        }
