"""GB 11643-1999 validation names the rule that failed; other documents by format."""
from datetime import date

import pytest

from admission.errors import AdmissionError
from admission.identity import age_on, is_resident_id, validate_document, validate_resident_id
from testkit import resident_id as make_id

TODAY = date(2026, 7, 15)


def test_published_example_number_is_valid():
    # The example in GB 11643-1999 itself: 11010519491231002X
    rid = validate_resident_id("11010519491231002X", TODAY)
    assert rid.birth_date == date(1949, 12, 31) and rid.region == "110105" and rid.sex == "female"
    assert validate_resident_id(" 11010519491231002x ", TODAY).number == "11010519491231002X"


@pytest.mark.parametrize("number, code", [
    ("11010519491231002", "id_length"),
    ("11010519491231002XX", "id_length"),
    ("", "id_length"),
    ("1101051949123100AX", "id_format"),
    ("99010519491231002X", "id_region"),
    ("110105194913310028", "id_birth_date"),   # month 13
    ("110105194902300021", "id_birth_date"),   # 30 February
    ("110105203001010025", "id_birth_date"),   # in the future
    ("110105194912310021", "id_check_digit"),
])
def test_each_rule_has_its_code(number, code):
    with pytest.raises(AdmissionError) as err:
        validate_resident_id(number, TODAY)
    assert err.value.code == code
    assert str(err.value.message)  # English outside a request (the gate client's case)


def test_generated_numbers_and_ages():
    n = make_id("20210716")
    assert validate_resident_id(n, TODAY).birth_date == date(2021, 7, 16)
    assert age_on(date(2021, 7, 16), TODAY) == 4
    assert age_on(date(1966, 7, 15), TODAY) == 60
    assert age_on(date(1966, 7, 16), TODAY) == 59


@pytest.mark.parametrize("doc_type, number, ok", [
    ("passport", "E12345678", True), ("passport", "E1", False),
    ("hk_macao_permit", "H12345678", True), ("hk_macao_permit", "X12345678", False),
    ("taiwan_permit", "12345678", True), ("taiwan_permit", "1234", False),
])
def test_other_documents(doc_type, number, ok):
    if ok:
        assert validate_document(doc_type, number.lower(), TODAY) == number
    else:
        with pytest.raises(AdmissionError) as err:
            validate_document(doc_type, number, TODAY)
        assert err.value.code == "bad_document_number"
    with pytest.raises(AdmissionError) as err:
        validate_document("library_card", "123", TODAY)
    assert err.value.code == "bad_document_type"


def test_is_resident_id_is_the_gates_yes_or_no():
    assert is_resident_id("11010519491231002X", TODAY)
    assert not is_resident_id("110105194912310021", TODAY)
    assert not is_resident_id("", TODAY)
