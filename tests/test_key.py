import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptsearch.errors import InputError
from promptsearch.core.key import Demo, OutputSpec, PromptKey
from promptsearch.core.templates import check_template

SENTIMENT = OutputSpec(("positive", "negative"), ("great", "terrible"))


def test_completion_render_puts_the_fixed_part_first():
    key = PromptKey("Classify.", (Demo({"input": "fun"}, "positive"),),
                    "Review: {{ input }}\nSentiment:", SENTIMENT)
    assert key.render(input="dull") == ("Classify.\n\nReview: fun\nSentiment: great\n\n"
                                        "Review: dull\nSentiment:")
    assert key.stop == ["\n"]


def test_chat_messages_alternate_demo_turns():
    key = PromptKey("Classify.", (Demo({"input": "fun"}, "positive"),), "{{ input }}", SENTIMENT,
                    style="chat")
    assert key.messages(input="dull") == [
        {"role": "system", "content": "Classify."}, {"role": "user", "content": "fun"},
        {"role": "assistant", "content": "great"}, {"role": "user", "content": "dull"}]


def test_id_is_content_only_and_stable():
    a = PromptKey("x", format="Q: {{ input }}\nA:")
    assert a.id == PromptKey("x", format="Q: {{ input }}\nA:").id
    assert a.id != a.with_(instruction="y").id
    assert len(a.id) == 12


@pytest.mark.parametrize("completion, label", [
    (" great\n\nReview: x", "positive"), ("Terrible.", "negative"), ("GREAT!", "positive"),
    ("terribleness", None), ("  \n", None), ("meh", None), ("great movie", "positive")])
def test_label_parsing_through_the_verbaliser(completion, label):
    assert SENTIMENT.parse(completion) == label


def test_free_text_parsing_takes_the_first_nonempty_line():
    assert OutputSpec().parse("\n  chats \nmore") == "chats"
    assert OutputSpec().parse("   ") is None


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(instruction=text, demo_in=text, demo_out=text, style=st.sampled_from(["completion", "chat"]))
def test_json_round_trip_keeps_the_key_and_its_id(instruction, demo_in, demo_out, style):
    key = PromptKey(instruction.replace("{", ""), (Demo({"input": demo_in}, demo_out),),
                    "In: {{ input }}\nOut:", OutputSpec(), style)
    again = PromptKey.from_dict(key.to_dict())
    assert again == key and again.id == key.id
    assert again.render(input="q") == key.render(input="q")


@given(word=st.sampled_from(["positive", "negative"]), noise=st.sampled_from(["", ".", "!", " "]))
def test_parse_recovers_the_label_a_verbaliser_wrote(word, noise):
    assert SENTIMENT.parse(" " + SENTIMENT.word(word) + noise + "\nnext") == word


@pytest.mark.parametrize("template", [
    "{{ input.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% import 'os' as os %}",
    "{{ ''.__class__ }}",
])
def test_template_injection_is_refused(template):
    with pytest.raises(InputError) as caught:
        check_template(template, ("input",), "task.yaml", "prompt.format")
    assert caught.value.exit_code == 2 and "prompt.format" in str(caught.value)


def test_unknown_template_field_is_named():
    with pytest.raises(InputError, match="unknown field"):
        check_template("Review: {{ review }}", ("input",), "task.yaml", "prompt.format")
    check_template("Review: {{ input }}", ("input",), "task.yaml", "prompt.format")


def test_retrieved_demos_are_the_nearest_inputs_and_survive_the_lock_round_trip():
    from promptsearch.core.retrieval import Retrieval

    pool = tuple(Demo({"input": word}, word.upper()) for word in
                 ["apple", "apples", "banana", "cherry", "grape", "applesauce"])
    key = PromptKey("Shout.", retrieval=Retrieval(pool, 2))
    chosen = key.demos_for({"input": "apple pie"})
    assert {demo.inputs["input"] for demo in chosen} <= {"apple", "apples", "applesauce"}
    assert len(chosen) == 2
    rendered = key.render(input="apple pie")
    assert "banana" not in rendered and "Output: APPLE" in rendered
    again = PromptKey.from_dict(key.to_dict())
    assert again.id == key.id and again.render(input="apple pie") == rendered
    assert "retrieval" not in PromptKey("Shout.").to_dict()  # plain keys keep their ids
