"""Anytime neural networks (ICML 2020 companion paper): nested architectures, orthogonalized SGD.

``alert.nn.data`` needs numpy only; every other module needs the optional ``torch`` extra
(``pip install 'alert-atc[torch]'``). Import the submodules directly, e.g.
``from alert.nn.anytime import WidthNestedNet``.
"""
