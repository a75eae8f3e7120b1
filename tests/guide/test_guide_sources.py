"""Every source URL in the guide's content comes from a reviewed domain: the table
`domain | who publishes it | why trusted` in data/guide/SOURCES.md (each content
writer's section may add rows)."""
import re
from urllib.parse import urlparse

from guide import content

SOURCES_MD = content.DATA_DIR / "SOURCES.md"


def reviewed_domains(text: str) -> dict[str, str]:
    """domain -> publisher, from every Markdown table whose first column is 'domain'."""
    domains, in_table = {}, False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] \
            if line.strip().startswith("|") else None
        if cells is None:
            in_table = False
            continue
        if cells[0].lower() == "domain":
            in_table = True
            continue
        if in_table and not re.fullmatch(r":?-{3,}:?", cells[0]):
            domain = cells[0].strip("`").lower()
            assert re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", domain), f"not a domain: {cells[0]}"
            assert len(cells) >= 3 and cells[1] and cells[2], f"{domain}: say who and why"
            domains[domain] = cells[1]
    return domains


def on_list(host: str, domains) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def test_every_source_url_is_on_the_reviewed_list():
    domains = reviewed_domains(SOURCES_MD.read_text(encoding="utf-8"))
    assert len(domains) >= 5
    urls = [(s["id"], s["url"]) for doc in content.read_files() for s in doc["sources"]]
    assert urls
    off_list = [(sid, url) for sid, url in urls
                if not on_list(urlparse(url).hostname or "", domains)]
    assert off_list == [], f"source domains not reviewed in SOURCES.md: {off_list}"


def test_the_domain_check_itself_catches_lookalikes():
    domains = reviewed_domains("| domain | who publishes it | why trusted |\n| --- | --- | --- |\n"
                               "| whc.unesco.org | UNESCO | the inscription |\n\ntext\n"
                               "| domain | who | why |\n|---|---|---|\n| baike.baidu.com | Baidu | x |")
    assert set(domains) == {"whc.unesco.org", "baike.baidu.com"}
    assert on_list("whc.unesco.org", domains) and on_list("m.baike.baidu.com", domains)
    assert not on_list("whc.unesco.org.evil.example", domains)
    assert not on_list("notbaike.baidu.com.cn", domains) and not on_list("unesco.org", domains)
