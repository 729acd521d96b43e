"""WordNet 3.0 over the ILSVRC-2012 classes: synsets (``synsets``), the hypernym hierarchy with
depths and superclasses (``hierarchy``) and the BREEDS subset of Ramanujan et al. (``breeds``).

The data files under ``data/`` are derived from Princeton WordNet 3.0 (``data/WORDNET_3.0_LICENSE.txt``).
"""
