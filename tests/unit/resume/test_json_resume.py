"""JSON Resume <-> the resume document, checked against the schema and samples of the
`@jsonresume/schema` package itself."""

import copy
from typing import Any

import jsonschema
import pytest

from contracts.resume import Contact, Item, Link, ResumeDocument, Section
from resume_service.json_resume import (
    OURS,
    InvalidJsonResume,
    from_json_resume,
    to_json_resume,
)
from tests import json_resume_package as package
from tests.samples import academic, engineer

SAMPLES = package.samples()


def without_ids(document: ResumeDocument) -> dict[str, Any]:
    return document.model_dump(mode="json", exclude={
        "sections": {"__all__": {"id": True, "items": {"__all__": {"id"}}}}})


def validate(exported: dict[str, Any]) -> None:
    jsonschema.validate(exported, package.schema(),
                        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_package_resumes_import_and_export_back_equal_and_valid(name):
    original = SAMPLES[name]
    exported = to_json_resume(from_json_resume(original))
    assert package.without_empty(exported) == package.without_empty(original)
    assert OURS not in exported
    validate(exported)


def test_every_json_resume_field_lands_in_the_document():
    document = from_json_resume(SAMPLES["sample.resume.json"])
    assert document.contact.label == "Programmer"
    assert document.contact.address.postal_code == "CA 94115"
    assert document.contact.profiles[1].username == "dandymusicnl"
    kinds = [section.kind for section in document.sections]
    assert kinds == ["experience", "volunteering", "education", "awards", "publications",
                     "skills", "languages", "interests", "references", "projects"]
    education = document.sections[2].items[0]
    assert (education.title, education.study_type, education.score) == (
        "Bachelor, Information Technology", "Bachelor", "4.0")
    assert education.courses == ["DB1101 - Basic SQL", "CS2011 - Java Introduction"]
    project = document.sections[-1].items[0]
    assert (project.subtitle, project.category, project.roles) == (
        "Smoogle", "application", ["Team lead", "Designer"])
    assert document.meta.last_modified == "2017-12-24T15:53:00"
    assert document.extensions["$schema"].endswith("schema.json")


def test_unknown_properties_are_kept_verbatim_and_given_back():
    original = copy.deepcopy(SAMPLES["sample.resume.json"])
    original["x-theme"] = {"name": "even", "colors": [1, 2]}
    original["basics"]["pronouns"] = "he/him"
    original["basics"]["location"]["timezone"] = "PST"
    original["work"][0]["team"] = {"size": 4}
    original["meta"]["generator"] = "hand"
    document = from_json_resume(original)
    assert document.sections[0].items[0].extensions == {"team": {"size": 4}}
    assert package.without_empty(to_json_resume(document)) == package.without_empty(original)


@pytest.mark.parametrize("sample", [engineer, academic])
def test_own_documents_export_valid_json_resume_and_import_back_equal(sample):
    document = sample()
    exported = to_json_resume(document)
    validate(exported)
    assert without_ids(from_json_resume(exported)) == without_ids(document)


def test_what_json_resume_cannot_say_travels_in_its_own_property():
    document = ResumeDocument(
        title="Mine", template="compact",
        contact=Contact(name="A", location="Berlin",
                        links=[Link(label="Site", url="https://a.example")]),
        sections=[Section(title="Hobbies", kind="custom", items=[Item(title="Chess")]),
                  Section(title="Jobs", kind="experience", items=[
                      Item(title="Dev", start_date="Summer 2020", end_date="present")])])
    exported = to_json_resume(document)
    validate(exported)
    assert exported[OURS]["template"] == "compact"
    assert "startDate" not in exported["work"][0]
    assert exported["basics"]["profiles"] == [{"network": "Site", "url": "https://a.example"}]
    assert without_ids(from_json_resume(exported)) == without_ids(document)


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["work"][0].update(startDate="Dec 2013"), "work.0.startDate"),
    (lambda d: d["basics"].update(profiles="none"), "basics.profiles"),
    (lambda d: d["skills"][0].update(keywords=[1, 2]), "skills.0.keywords.0"),
    (lambda d: d["work"][0].update(position="x" * 201), "work.0.position"),
    (lambda d: d["basics"].update(url="javascript:alert(1)"), "basics.url"),
    (lambda d: d.update({OURS: []}), OURS),
    (lambda d: d["work"][0].update(team={"size": 2**64}), "work.0.team"),
    (lambda d: d["basics"].update(note="a\x00b"), "basics.note"),
    (lambda d: d.update(deep=[[[[[[[[[[1]]]]]]]]]]), "deep"),
])
def test_invalid_documents_name_the_failing_path(change, path):
    document = copy.deepcopy(SAMPLES["sample.resume.json"])
    change(document)
    with pytest.raises(InvalidJsonResume) as raised:
        from_json_resume(document)
    assert path in [".".join(str(p) for p in e["loc"]) for e in raised.value.errors]


def test_what_the_schema_refuses_is_refused():
    """The models refuse, like schema.json, a wrong type or date at every level."""
    for name, value in [("basics", []), ("work", {}), ("education", [{"endDate": "2014-1"}]),
                        ("awards", [{"date": 2014}]), ("meta", "v1")]:
        document = {**SAMPLES["sample.resume.json"], name: value}
        with pytest.raises(jsonschema.ValidationError):
            validate(document)
        with pytest.raises(InvalidJsonResume):
            from_json_resume(document)
