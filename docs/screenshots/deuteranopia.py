"""Deuteranopia simulation of a screenshot (Machado, Oliveira & Fernandes 2009, severity 1.0, in linear RGB):
``python docs/screenshots/deuteranopia.py IN.png OUT.png``. The GUI's tests use :func:`simulate` too."""

from __future__ import annotations

import sys

import numpy as np

MACHADO_DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                                 [0.280085, 0.672501, 0.047413],
                                 [-0.011820, 0.042940, 0.968881]])


def _to_linear(c: np.ndarray) -> np.ndarray:
    c = c / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return 255.0 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def simulate(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (..., 3) uint8 or float 0-255 as a deuteranope sees it (float 0-255)."""
    return _to_srgb(_to_linear(np.asarray(rgb, dtype=float)) @ MACHADO_DEUTERANOPIA.T)


def hex_rgb(colour: str) -> np.ndarray:
    colour = colour.lstrip("#")
    return np.array([int(colour[i:i + 2], 16) for i in (0, 2, 4)], dtype=float)


def main(src: str, dst: str) -> None:
    from PyQt5.QtGui import QImage

    img = QImage(src).convertToFormat(QImage.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    ptr = img.bits()
    ptr.setsize(h * stride)
    a = np.frombuffer(ptr, np.uint8).reshape(h, stride)[:, :w * 3].reshape(h, w, 3)
    out = np.ascontiguousarray(simulate(a).round().astype(np.uint8))
    QImage(out.data, w, h, 3 * w, QImage.Format_RGB888).save(dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
