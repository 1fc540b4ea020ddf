"""What the modeling estimators share: JSON persistence and scikit-learn tags."""

from __future__ import annotations

import json

from sklearn.utils import ClassifierTags

__all__ = ["JSONMixin", "tabular_binary_tags"]


class JSONMixin:
    """``to_json`` / ``from_json`` around a class's ``to_dict`` / ``from_dict``."""

    _json_indent: int | None = 1

    def to_json(self, path=None) -> str | None:
        """Write (or return) :meth:`to_dict` as JSON."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=self._json_indent)
        if path is None:
            return text
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return None

    @classmethod
    def from_json(cls, source):
        """Rebuild a fitted object from a JSON string or file path."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            with open(source, encoding="utf-8") as f:
                text = f.read()
        return cls.from_dict(json.loads(text))


def tabular_binary_tags(tags):
    """Tags of an estimator on feature tables with missing values and text, binary target."""
    tags.input_tags.allow_nan = True
    tags.input_tags.categorical = True
    tags.input_tags.string = True
    tags.classifier_tags = ClassifierTags(multi_class=False)
    return tags
