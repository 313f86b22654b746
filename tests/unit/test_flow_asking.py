"""Answers to a question with numbered choices, read exactly by code: by number, ordinal, or a word that only one
listed choice has."""

from __future__ import annotations

from graphs.flows.asking import chosen

CARDS = [["credit_card_2", "Mastercard card ending 5386"], ["credit_card_3", "Visa card ending 0034"]]
ORDERS = [["#W1", "#W1 (pending: Sunglasses, Bookshelf)"], ["#W2", "#W2 (pending: Jigsaw Puzzle, Sunglasses)"]]


def test_a_number_or_an_ordinal_picks_that_choice():
    assert chosen("2", CARDS) == CARDS[1]
    assert chosen("the first one", CARDS) == CARDS[0]
    assert chosen("7", CARDS) is None


def test_a_word_only_one_choice_has_picks_it():
    assert chosen("The Visa. Not the one that's on it now, the other Visa.", CARDS) == CARDS[1]
    assert chosen("the one ending in 0034", CARDS) == CARDS[1]
    assert chosen("the one with the bookshelf", ORDERS) == ORDERS[0]


def test_shared_negated_or_declining_words_pick_nothing():
    assert chosen("the sunglasses one", ORDERS) is None  # both have sunglasses
    assert chosen("not the Visa", CARDS) is None
    assert chosen("No, then I'll keep the ones I have.", [["1", "size 9, material synthetic, waterproof no"]]) is None
    assert chosen("the Visa and the Mastercard", CARDS) is None


def test_a_new_request_that_mentions_a_choice_is_not_an_answer():
    assert chosen("Actually, cancel the bookshelf order instead", ORDERS) is None
    long = "the bookshelf " + "and some more words about something else entirely " * 2
    assert chosen(long, ORDERS) is None
