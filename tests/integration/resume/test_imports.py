"""POST /resume/import through resume_service's API, on the real stores."""

import copy

from contracts.resume import ResumeDocument
from tests import json_resume_package as package

SAMPLE = package.load("sample.resume.json")


async def test_json_resume_sample_imports_as_a_resume_whose_first_event_says_so(
        resume_api, as_user, user_id):
    headers = as_user(user_id)
    response = await resume_api.post("/resume/import?format=json-resume", json=SAMPLE,
                                     headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["version"] == 1 and created["title"] == "Richard Hendriks"
    assert created["contact"]["address"]["city"] == "San Francisco"
    assert [s["title"] for s in created["sections"]][:3] == [
        "Experience", "Volunteering", "Education"]
    history = await resume_api.get(f"/resume/{created['id']}/history", headers=headers)
    assert history.json()[0]["summary"] == "imported “Richard Hendriks” (json-resume)"
    listed = await resume_api.get("/resume/all", headers=headers)
    assert created["id"] in [r["id"] for r in listed.json()]


async def test_native_export_shape_imports_with_its_document(resume_api, as_user, user_id):
    document = ResumeDocument.model_validate(
        {"title": "Native", "contact": {"name": "N"}}).model_dump(mode="json")
    response = await resume_api.post(
        "/resume/import?format=native", headers=as_user(user_id),
        json={"format": "resume-builder", "schema_version": 1, "document": document})
    assert response.status_code == 201, response.text
    assert response.json()["contact"]["name"] == "N"


async def test_invalid_json_resume_is_a_422_naming_the_paths(resume_api, as_user, user_id):
    broken = copy.deepcopy(SAMPLE)
    broken["work"][0]["startDate"] = "last year"
    broken["education"][0]["courses"] = "SQL"
    response = await resume_api.post("/resume/import?format=json-resume", json=broken,
                                     headers=as_user(user_id))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_import"
    assert {f["path"] for f in error["fields"]} == {"work.0.startDate", "education.0.courses"}
    listed = await resume_api.get("/resume/all", headers=as_user(user_id))
    assert listed.json() == []


async def test_import_refuses_what_is_not_an_object_or_a_known_format(resume_api, as_user,
                                                                      user_id):
    headers = as_user(user_id)
    not_object = await resume_api.post("/resume/import", json=[1, 2], headers=headers)
    assert not_object.status_code == 422
    unknown = await resume_api.post("/resume/import?format=yaml", json=SAMPLE, headers=headers)
    assert unknown.status_code == 422
    native_wrong = await resume_api.post("/resume/import?format=native", json=SAMPLE,
                                         headers=headers)
    assert native_wrong.status_code == 422
    assert {"document", "basics"} <= {f["path"] for f in native_wrong.json()["error"]["fields"]}
