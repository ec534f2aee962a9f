#!/usr/bin/python3
"""Analogy accuracy of a vectors file by gensim's own evaluator
(evaluate_word_analogies, top 30000, case-insensitive), to cross-check
simlearn's. usage: words_gensim_eval.py VECTORS QUESTIONS [binary]"""
import sys, logging
from gensim.models import KeyedVectors
logging.disable(logging.WARNING)
binary = len(sys.argv) > 3 and sys.argv[3] == 'binary'
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=binary, unicode_errors='ignore')
score, sections = kv.evaluate_word_analogies(sys.argv[2], restrict_vocab=30000, case_insensitive=True)
tot = sections[-1]
c, i = len(tot['correct']), len(tot['incorrect'])
print(f"gensim evaluator: {100.0 * c / max(1, c + i):.2f}% ({c}/{c + i})")
