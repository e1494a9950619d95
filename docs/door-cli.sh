#!/bin/bash
# The door protocol of issue 13, through the command line with its defaults, on LFW peopleDevTest:
# the 66 people with at least 8 photos, alternately enrolled (facerec enroll, from photo 1; a refused photo is
# replaced by the next) or strangers; every other photo of theirs sent to facerec identify.
# Usage: docs/door-cli.sh FACEREC OUT [flags of both enroll and identify...]; IFLAGS: identify-only flags.
FR=$1; OUT=$2; shift 2
LFW=${LFW:-../shared/data/lfw}
mkdir -p $OUT; rm -f $OUT/g.db* $OUT/*.txt
awk 'NR>1 && $2>=8 {print $1}' $LFW/peopleDevTest.txt | sort > $OUT/people.txt
i=0; : > $OUT/probes.txt; : > $OUT/enrolled.txt
while read p; do
  if [ $((i % 2)) -eq 0 ]; then
    echo $p >> $OUT/enrolled.txt
    # A refused photo (two faces could be the person) is replaced by the next one, as a user would.
    e=1
    until $FR enroll --db $OUT/g.db --name "$p" "$@" $LFW/deepfunneled/$p/${p}_000$e.jpg > /dev/null 2>>$OUT/enroll.err; do e=$((e+1)); [ $e -gt 8 ] && exit 1; done
    for k in 1 2 3 4 5 6 7 8; do [ $k -ne $e ] && echo "$p $LFW/deepfunneled/$p/${p}_000$k.jpg" >> $OUT/probes.txt; done
  else
    for k in 1 2 3 4 5 6 7 8; do echo "$p $LFW/deepfunneled/$p/${p}_000$k.jpg" >> $OUT/probes.txt; done
  fi
  i=$((i+1))
done < $OUT/people.txt
$FR identify --db $OUT/g.db "$@" $IFLAGS $(awk '{print $2}' $OUT/probes.txt) > $OUT/identify.jsonl 2>$OUT/identify.err || true
python3 - $OUT <<'PY'
import json,sys,os
out=sys.argv[1]
enrolled=set(open(out+'/enrolled.txt').read().split())
truth={l.split()[1]:l.split()[0] for l in open(out+'/probes.txt')}
g=[0,0,0,0]; s=[0,0]  # genuine: right, wrong, unknown, noface ; strangers: let in, kept out
for line in open(out+'/identify.jsonl'):
    r=json.loads(line); who=truth[r['photo']]
    faces=r.get('faces') or []
    # the face nearest the centre would be better; take the largest box (LFW: the subject)
    if not faces:
        if who in enrolled: g[3]+=1
        else: s[1]+=1
        continue
    f=max(faces,key=lambda f:f['box'][2]*f['box'][3])
    m=f.get('match')
    name=m['name'] if m else None
    if who in enrolled:
        if name==who: g[0]+=1
        elif name: g[1]+=1
        else: g[2]+=1
    else:
        if name: s[0]+=1
        else: s[1]+=1
ng=sum(g); ns=sum(s)
print(json.dumps({"enrolled":len(enrolled),"genuine":ng,"right":g[0],"wrong":g[1],"unknown":g[2],"no_face":g[3],
 "strangers":ns,"strangers_let_in":s[0],"right_pct":round(100*g[0]/ng,1),"wrong_pct":round(100*g[1]/ng,1),"strangers_pct":round(100*s[0]/ns,1)}))
PY
